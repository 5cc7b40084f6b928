"""The runner's bookkeeping around a transcription: what it stores when a job completes,
fails, is cancelled or is stopped by a shutdown. The transcription here is a stand-in
that reports progress and obeys its cancel event; the real one runs in
tests/server/test_jobs_api.py."""

from __future__ import annotations

import asyncio
import io
import os
import socket
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from vocalis.batch import results
from vocalis.batch.owner import Owner
from vocalis.batch.runner import Limits, Report, Runner
from vocalis.batch.store import Job, JobStore
from vocalis.batch.uploads import Uploads
from vocalis.errors import InvalidAudio
from vocalis.stt.base import Segment, TranscriptionInfo, Word

SEGMENT = Segment(
    0, 0, 0.0, 2.5, " Ask not.", [1, 2], 0.0, -0.2, 1.1, 0.01, [Word(0.0, 0.4, " Ask", 0.9)]
)


class Stopped(Exception):
    """What a transcription raises at its next step once cancelled."""


class Transcription:
    """Runs in a worker thread: reports 10 s, then waits to be let go or cancelled."""

    def __init__(self, fail: Exception | None = None) -> None:
        self.release = threading.Event()
        self.started = threading.Event()
        self.fail = fail
        self.seen: list[str] = []

    async def __call__(
        self, job: Job, cancelled: threading.Event, report: Report
    ) -> results.Result:
        self.seen.append(job.id)
        return await asyncio.to_thread(self._run, cancelled, report)

    def _run(self, cancelled: threading.Event, report: Report) -> results.Result:
        report(10.0)
        self.started.set()
        while not self.release.wait(0.01):
            if cancelled.is_set():
                raise Stopped
        if self.fail:
            raise self.fail
        return TranscriptionInfo("en", 0.99, 60.0), [SEGMENT]


def runner_for(tmp_path: Path, execute: Transcription) -> Runner:
    uploads = Uploads(tmp_path / "uploads", tmp_path, max_bytes=10**6)
    return Runner(JobStore(tmp_path / "jobs.sqlite3"), uploads, execute, Limits(3600))


def run(test: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(test(), 20))


async def until(condition: Callable[[], bool]) -> None:
    while not condition():
        await asyncio.sleep(0.01)


async def submit(runner: Runner) -> Job:
    return await runner.submit(io.BytesIO(b"RIFF...."), 8, "a.wav", {"model": "m"}, 60.0)


def status(runner: Runner, job: Job) -> str | None:
    found = runner.store.get(job.id)
    return found.status if found else None


def test_a_completed_job_keeps_its_result_and_drops_its_upload(tmp_path: Path) -> None:
    transcription = Transcription()
    runner = runner_for(tmp_path, transcription)

    async def test() -> None:
        await runner.start()
        job = await submit(runner)
        assert runner.uploads.path(job.id).read_bytes() == b"RIFF...."
        await until(transcription.started.is_set)
        running = runner.store.get(job.id)
        assert running is not None and (running.status, running.seconds_done) == ("running", 10)
        transcription.release.set()
        await until(lambda: status(runner, job) == "completed")
        await runner.stop()
        done = runner.store.get(job.id)
        assert done is not None and done.result is not None
        assert results.decode(done.result) == (TranscriptionInfo("en", 0.99, 60.0), [SEGMENT])
        assert not runner.uploads.path(job.id).exists()

    run(test)


@pytest.mark.parametrize(
    ("error", "stored"),
    [
        (
            InvalidAudio("The audio file is empty."),
            {
                "message": "The audio file is empty.",
                "type": "invalid_request_error",
                "code": "invalid_file_format",
            },
        ),
        (
            ValueError("internal detail"),
            {
                "message": "The server failed to transcribe the recording.",
                "type": "server_error",
                "code": None,
            },
        ),
    ],
)
def test_a_failed_job_says_why_without_internals(
    tmp_path: Path, error: Exception, stored: dict[str, object]
) -> None:
    transcription = Transcription(fail=error)
    transcription.release.set()
    runner = runner_for(tmp_path, transcription)

    async def test() -> None:
        await runner.start()
        job = await submit(runner)
        await until(lambda: status(runner, job) == "failed")
        await runner.stop()
        failed = runner.store.get(job.id)
        assert failed is not None and failed.error == stored
        assert not runner.uploads.path(job.id).exists()

    run(test)


def test_a_cancelled_job_stops_and_the_next_one_runs(tmp_path: Path) -> None:
    transcription = Transcription()
    runner = runner_for(tmp_path, transcription)

    async def test() -> None:
        await runner.start()
        first, second = await submit(runner), await submit(runner)
        await until(transcription.started.is_set)
        cancelled = runner.cancel(first.id)
        assert cancelled is not None and cancelled.status == "cancelled"
        await until(lambda: transcription.seen == [first.id, second.id])
        assert not runner.uploads.path(first.id).exists()
        assert status(runner, first) == "cancelled"
        # Cancelled while queued: gone at once, upload and all.
        third = await submit(runner)
        runner.cancel(third.id)
        assert not runner.uploads.path(third.id).exists()
        transcription.release.set()
        await until(lambda: status(runner, second) == "completed")
        await runner.stop()
        assert transcription.seen == [first.id, second.id]

    run(test)


def test_a_shutdown_puts_the_running_job_back_for_the_next_start(tmp_path: Path) -> None:
    transcription = Transcription()
    first_run = runner_for(tmp_path, transcription)

    async def test() -> None:
        await first_run.start()
        job = await submit(first_run)
        await until(transcription.started.is_set)
        await first_run.stop()
        assert status(first_run, job) == "queued"
        assert first_run.uploads.path(job.id).exists()
        again = Transcription()
        again.release.set()
        second_run = runner_for(tmp_path, again)
        await second_run.start()
        await until(lambda: status(second_run, job) == "completed")
        await second_run.stop()
        done = second_run.store.get(job.id)
        assert done is not None and done.attempts == 2

    run(test)


def test_a_drain_stops_the_runner(tmp_path: Path) -> None:
    transcription = Transcription()
    runner = runner_for(tmp_path, transcription)

    async def test() -> None:
        drain = asyncio.Event()
        await runner.start(stop_on=drain.wait())
        job = await submit(runner)
        await until(transcription.started.is_set)
        drain.set()
        await until(lambda: status(runner, job) == "queued")
        await runner.stop()

    run(test)


def test_cleanup_removes_expired_jobs_and_stray_uploads(tmp_path: Path) -> None:
    transcription = Transcription()
    transcription.release.set()
    runner = runner_for(tmp_path, transcription)
    now = [1_000_000.0]
    runner.store.clock = lambda: now[0]

    async def test() -> None:
        await runner.start()
        job = await submit(runner)
        await until(lambda: status(runner, job) == "completed")
        await runner.stop()

    run(test)
    stray = runner.uploads.root / "job_gone.upload"
    stray.write_bytes(b"left by a crash")
    now[0] += 3599
    runner.cleanup(orphan_seconds=0)
    assert runner.store.newest(5) != [] and not stray.exists()
    now[0] += 2
    runner.cleanup()
    assert runner.store.newest(5) == []


def sharing(tmp_path: Path, execute: Transcription, owner: Owner) -> Runner:
    """A runner of another server on the same data dir, beating every 10 ms."""
    uploads = Uploads(tmp_path / "uploads", tmp_path, max_bytes=10**6)
    store = JobStore(tmp_path / "jobs.sqlite3", owner=owner)
    limits = Limits(3600, heartbeat_seconds=0.01, stale_seconds=0.5)
    return Runner(store, uploads, execute, limits)


def test_a_cancel_through_another_server_stops_the_job_at_its_next_heartbeat(
    tmp_path: Path,
) -> None:
    transcription = Transcription()
    running = sharing(tmp_path, transcription, Owner(socket.gethostname(), os.getpid(), "a"))
    other = sharing(tmp_path, Transcription(), Owner(socket.gethostname(), os.getpid(), "b"))

    async def test() -> None:
        await running.start()
        job = await submit(running)
        await until(transcription.started.is_set)
        cancelled = other.cancel(job.id)  # a DELETE that reached the other replica
        assert cancelled is not None and cancelled.status == "cancelled"
        assert running.uploads.path(job.id).exists()  # left to the server that runs it
        await until(lambda: not running.uploads.path(job.id).exists())
        assert status(running, job) == "cancelled"
        await running.stop()

    run(test)


def test_a_silent_servers_job_is_taken_back_by_a_live_one(tmp_path: Path) -> None:
    stuck = Transcription()
    silent = sharing(tmp_path, stuck, Owner("another-host", 1, "x"))
    finishing = Transcription()
    finishing.release.set()
    live = sharing(tmp_path, finishing, Owner(socket.gethostname(), os.getpid(), "live"))

    async def test() -> None:
        job = await submit(silent)
        claimed = silent.store.claim()  # claimed, and then its server fell silent
        assert claimed is not None and claimed.id == job.id
        await live.start()
        await until(lambda: status(live, job) == "completed")
        await live.stop()
        done = live.store.get(job.id)
        assert done is not None and done.attempts == 2
        assert finishing.seen == [job.id]

    run(test)
