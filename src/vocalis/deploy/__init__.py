"""Ways to run Vocalis as a service: what each one needs, rendered from plain facts."""
