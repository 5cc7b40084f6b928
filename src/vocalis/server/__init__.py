"""The HTTP server: app factory, routes and the job queue."""
