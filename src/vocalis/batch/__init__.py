"""Durable jobs: a SQLite store of jobs and results, the uploads on disk, and a runner
that works through the queue with whatever transcription the server hands it."""

from vocalis.batch.runner import Execute, Limits, Report, Runner
from vocalis.batch.store import Job, JobStore, Status
from vocalis.batch.uploads import StorageFull, Uploads

__all__ = [
    "Execute",
    "Job",
    "JobStore",
    "Limits",
    "Report",
    "Runner",
    "Status",
    "StorageFull",
    "Uploads",
]
