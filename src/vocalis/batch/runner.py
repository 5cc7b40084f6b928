"""Runs the stored jobs one after another, and keeps the store and the disk tidy.

The runner knows nothing of transcription: it is given an `Execute`, the server's one way
to transcribe a recording (through the same job queue as HTTP requests, so a long job gives
way to short ones). A job whose process dies mid-way is found `running` at the next start
and runs again from the start; one stopped by a shutdown goes straight back in the queue.

Runners in several processes may share a store (Ray Serve replicas on one host): each
renews the heartbeat of the jobs it runs, stops one that was cancelled through another
server, and takes back the jobs of a runner that stopped beating.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, BinaryIO, Protocol

from vocalis.batch import results
from vocalis.batch.store import STALE_SECONDS, Job, JobStore, new_id
from vocalis.batch.uploads import Uploads
from vocalis.errors import VocalisError

log = logging.getLogger(__name__)


class Report(Protocol):
    """Where a running job is: called from the thread that transcribes."""

    def __call__(self, seconds: float) -> None:
        """The seconds done."""

    def checkpoint(self, head: dict[str, Any], segments: list[dict[str, Any]], first: int) -> None:
        """What a later run may resume from: `head` and the segments after the `first`
        reported before; it comes back whole as `Job.checkpoint`."""


# Transcribes a job's upload (from `job.checkpoint` on, if set), reporting through `Report`;
# stops (raising) once the event is set.
Execute = Callable[[Job, threading.Event, Report], Awaitable[results.Result]]
# Progress reaches the database at most this often: a segment can take milliseconds.
PROGRESS_INTERVAL_SECONDS = 1.0
# An idle worker looks at the queue this often even unwoken (another process, a missed wake).
POLL_SECONDS = 5.0
# An upload not yet owned by a job is left alone this long by the periodic sweep.
ORPHAN_SECONDS = 3600.0
# ... and this long by the sweep at start-up: another server on the same data dir may be
# saving one (its file is written to every few milliseconds meanwhile).
STARTUP_ORPHAN_SECONDS = 60.0
# How long a running job has to stop at shutdown before its task is abandoned; it is
# found `running` at the next start and runs again.
STOP_SECONDS = 10.0


@dataclass(frozen=True)
class Limits:
    retention_seconds: float
    cleanup_seconds: float = 600.0
    workers: int = 1
    # How often the running jobs' heartbeat is renewed, and when another's is stale.
    heartbeat_seconds: float = 10.0
    stale_seconds: float = STALE_SECONDS


class Runner:
    def __init__(self, store: JobStore, uploads: Uploads, execute: Execute, limits: Limits):
        self.store = store
        self.uploads = uploads
        self.execute = execute
        self.limits = limits
        self._wake = asyncio.Event()
        self._running: dict[str, threading.Event] = {}
        self._tasks: list[asyncio.Task[None]] = []
        # The periodic cleanup, and what stops the runner early (a drain).
        self._helpers: list[asyncio.Task[None]] = []
        self._stopping = False

    async def submit(
        self,
        upload: BinaryIO,
        size: int,
        filename: str,
        options: dict[str, Any],
        seconds: float | None,
    ) -> Job:
        """Stores the upload (in a worker thread: it may be gigabytes) and queues its job."""
        self.uploads.check_room(size)
        job_id = new_id()
        saved = await asyncio.to_thread(self.uploads.save, job_id, upload)
        job = self.store.add(job_id, options, filename, saved, seconds)
        self._wake.set()
        return job

    def cancel(self, job_id: str) -> Job | None:
        """Cancels a queued job at once and a running one at its next step (here, or on
        another server at its next heartbeat: that server deletes the upload)."""
        job = self.store.cancel(job_id)
        if job_id in self._running:
            self._running[job_id].set()
        elif job is not None and job.status == "cancelled" and job.started_at is None:
            self.uploads.delete(job_id)
        return job

    async def start(self, stop_on: Awaitable[None] | None = None) -> None:
        """Recovers and tidies, then works through the queue until `stop` or `stop_on`."""
        recovered = self.store.recover(self.limits.stale_seconds)
        if recovered:
            log.info("%d jobs interrupted by a restart run again: %s", len(recovered), recovered)
        self.cleanup(orphan_seconds=STARTUP_ORPHAN_SECONDS)
        self._tasks = [asyncio.create_task(self._work()) for _ in range(self.limits.workers)]
        self._helpers = [asyncio.create_task(self._tidy()), asyncio.create_task(self._beat())]
        if stop_on is not None:
            self._helpers.append(asyncio.create_task(self._stop_after(stop_on)))

    async def _stop_after(self, signal: Awaitable[None]) -> None:
        await signal
        log.info("stopping the jobs runner: its jobs run again at the next start")
        await self.stop()

    async def stop(self) -> None:
        """Stops the running jobs at their next step, back in the queue for the next start."""
        self._stopping = True
        for cancelled in self._running.values():
            cancelled.set()
        self._wake.set()
        stopped = [task for task in self._helpers if task is not asyncio.current_task()]
        for task in stopped:
            task.cancel()
        if self._tasks:
            _, pending = await asyncio.wait(self._tasks, timeout=STOP_SECONDS)
            stopped += pending
        for task in stopped:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def cleanup(self, orphan_seconds: float = ORPHAN_SECONDS) -> None:
        """Jobs past the retention time go, with their results, and uploads no job owns."""
        purged = self.store.purge(self.limits.retention_seconds)
        removed = self.uploads.sweep(self.store.unfinished_ids(), orphan_seconds)
        if purged or removed:
            log.info("removed %d expired jobs and %d stray uploads", len(purged), len(removed))

    async def _tidy(self) -> None:
        while not self._stopping:
            await asyncio.sleep(self.limits.cleanup_seconds)
            self.cleanup()

    async def _beat(self) -> None:
        while not self._stopping:
            await asyncio.sleep(self.limits.heartbeat_seconds)
            self.heartbeat()

    def heartbeat(self) -> None:
        """Renews our jobs' heartbeat, stops those cancelled elsewhere, takes back others'
        abandoned ones."""
        owned = self.store.heartbeat()
        for job_id, cancelled in list(self._running.items()):
            if job_id not in owned:
                cancelled.set()
        recovered = self.store.recover(self.limits.stale_seconds)
        if recovered:
            log.info("%d jobs of a server that stopped run again: %s", len(recovered), recovered)
            self._wake.set()

    async def _work(self) -> None:
        while not self._stopping:
            self._wake.clear()  # before claiming: a job added after the claim wakes us
            job = self.store.claim()
            if job is None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), POLL_SECONDS)
                continue
            await self._run(job)

    async def _run(self, job: Job) -> None:
        cancelled = threading.Event()
        self._running[job.id] = cancelled
        at = (job.checkpoint or {}).get("seconds")
        resumed = f", resuming at {at:.1f} s" if isinstance(at, int | float) else ""
        log.info("job %s started (attempt %d%s)", job.id, job.attempts, resumed)
        try:
            info, segments = await self.execute(job, cancelled, _Progress(self.store, job.id))
        except Exception as exc:
            self._stopped(job, cancelled, exc)
        else:
            if self.store.complete(job.id, results.encode(info, segments), info.duration):
                log.info("job %s completed: %.1f s of audio", job.id, info.duration)
            self.uploads.delete(job.id)
        finally:
            del self._running[job.id]

    def _stopped(self, job: Job, cancelled: threading.Event, exc: Exception) -> None:
        if cancelled.is_set() and self._stopping:
            self.store.requeue(job.id)
            log.info("job %s stopped by the shutdown; it runs again at the next start", job.id)
            return
        if cancelled.is_set():
            log.info("job %s cancelled", job.id)
        else:
            self.store.fail(job.id, _error(job, exc))
        self.uploads.delete(job.id)


def _error(job: Job, exc: Exception) -> dict[str, Any]:
    if isinstance(exc, VocalisError):
        log.info("job %s failed: %s", job.id, exc.message)
        return {"message": exc.message, "type": exc.error_type, "code": exc.code}
    log.exception("job %s failed", job.id, exc_info=exc)
    return {
        "message": "The server failed to transcribe the recording.",
        "type": "server_error",
        "code": None,
    }


class _Progress:
    """The seconds done, written to the store at most once a PROGRESS_INTERVAL_SECONDS.
    Called from the worker thread that transcribes."""

    def __init__(self, store: JobStore, job_id: str):
        self.store = store
        self.job_id = job_id
        self.written = 0.0

    def __call__(self, seconds: float) -> None:
        now = time.monotonic()
        if now - self.written >= PROGRESS_INTERVAL_SECONDS:
            self.written = now
            self.store.progress(self.job_id, seconds)

    def checkpoint(self, head: dict[str, Any], segments: list[dict[str, Any]], first: int) -> None:
        self.store.save_checkpoint(self.job_id, head, segments, first)
