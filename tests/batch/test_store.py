"""The job store on a temporary SQLite file: the life of a job, its order, restarts and
retention, with a clock the test moves."""

from __future__ import annotations

import json
import socket
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from vocalis.batch.owner import Owner
from vocalis.batch.store import JobStore, new_id

OPTIONS = {"model": "whisper-tiny.en", "job": {"response_format": "srt"}}
# A process of this host that has exited: no pid is above the kernel's pid_max (2**22).
DEAD = Owner(socket.gethostname(), 2**22 + 1, "1")


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(tmp_path: Path, clock: Clock) -> JobStore:
    return JobStore(tmp_path / "data" / "jobs.sqlite3", clock)


def add(store: JobStore, clock: Clock, name: str = "a.wav") -> str:
    clock.now += 1
    job_id = new_id()
    store.add(job_id, OPTIONS, name, 1234, 60.0)
    return job_id


def test_nothing_is_written_before_the_first_job(store: JobStore) -> None:
    assert store.get("job_x") is None
    assert store.newest(10) == []
    assert store.claim() is None
    assert store.recover() == []
    assert store.purge(0) == []
    assert not store.path.exists()


def test_a_job_from_queued_to_completed(store: JobStore, clock: Clock) -> None:
    job_id = add(store, clock)
    job = store.get(job_id)
    assert job is not None
    assert (job.status, job.options, job.filename, job.upload_bytes) == (
        "queued",
        OPTIONS,
        "a.wav",
        1234,
    )
    assert (job.seconds_done, job.seconds_total, job.attempts) == (0.0, 60.0, 0)
    claimed = store.claim()
    assert claimed is not None
    assert (claimed.id, claimed.status, claimed.attempts) == (job_id, "running", 1)
    assert claimed.started_at == clock.now
    store.progress(job_id, 12.5)
    store.progress(job_id, 10.0)  # progress never runs backwards
    job = store.get(job_id)
    assert job is not None and job.seconds_done == 12.5
    clock.now += 30
    assert store.complete(job_id, {"info": {}, "segments": []}, 61.2)
    job = store.get(job_id)
    assert job is not None
    assert (job.status, job.result, job.seconds_done, job.seconds_total) == (
        "completed",
        {"info": {}, "segments": []},
        61.2,
        61.2,
    )
    assert job.finished and job.finished_at == clock.now


def test_jobs_are_claimed_oldest_first_and_listed_newest_first(
    store: JobStore, clock: Clock
) -> None:
    ids = [add(store, clock, f"{i}.wav") for i in range(4)]
    assert [j.id for j in store.newest(10)] == ids[::-1]
    assert [j.id for j in store.newest(2)] == ids[:1:-1]
    claimed = [store.claim() for _ in range(5)]
    assert [j.id if j else None for j in claimed] == [*ids, None]
    assert [j.id for j in store.newest(10, "running")] == ids[::-1]
    assert store.newest(10, "queued") == []


def test_a_listing_and_a_poll_leave_the_results_out(store: JobStore, clock: Clock) -> None:
    job_id = add(store, clock)
    store.claim()
    store.complete(job_id, {"info": {}, "segments": ["big"]}, 1.0)
    assert store.newest(1)[0].result is None
    polled = store.get(job_id, with_result=False)
    assert polled is not None and (polled.status, polled.result) == ("completed", None)
    job = store.get(job_id)
    assert job is not None and job.result == {"info": {}, "segments": ["big"]}


def test_a_cancelled_job_keeps_no_late_result(store: JobStore, clock: Clock) -> None:
    running, queued = add(store, clock), add(store, clock)
    store.claim()
    cancelled = store.cancel(running)
    assert cancelled is not None and cancelled.status == "cancelled"
    # The transcription that was running ends after the cancel: its result is dropped.
    assert not store.complete(running, {"info": {}, "segments": []}, 5.0)
    assert not store.fail(running, {"message": "late"})
    job = store.get(running)
    assert job is not None and (job.status, job.result, job.error) == ("cancelled", None, None)
    job = store.cancel(queued)
    assert job is not None and job.status == "cancelled"
    assert store.claim() is None
    assert store.unfinished_ids() == set()


def test_a_finished_job_cannot_be_cancelled(store: JobStore, clock: Clock) -> None:
    job_id = add(store, clock)
    store.claim()
    store.fail(job_id, {"message": "The audio file is empty.", "code": "invalid_file_format"})
    job = store.cancel(job_id)
    assert job is not None
    assert (job.status, job.error) == (
        "failed",
        {"message": "The audio file is empty.", "code": "invalid_file_format"},
    )
    assert store.cancel("job_unknown") is None


def test_a_restart_requeues_what_was_running(tmp_path: Path, clock: Clock) -> None:
    path = tmp_path / "jobs.sqlite3"
    first = JobStore(path, clock, owner=DEAD)
    running, queued = add(first, clock), add(first, clock)
    first.claim()
    first.progress(running, 30.0)
    # A new process on the same file: the running job was left by one that died.
    second = JobStore(path, clock)
    assert second.recover() == [running]
    job = second.get(running)
    assert job is not None and (job.status, job.seconds_done, job.attempts) == ("queued", 0.0, 1)
    assert second.unfinished_ids() == {running, queued}
    again = second.claim()
    assert again is not None and (again.id, again.attempts) == (running, 2)


def test_a_checkpoint_outlives_the_process_and_goes_with_the_result(
    tmp_path: Path, clock: Clock
) -> None:
    path = tmp_path / "jobs.sqlite3"
    first = JobStore(path, clock, owner=DEAD)
    job_id = add(first, clock)
    first.claim()
    first.save_checkpoint(job_id, {"offset": 480_000, "seconds": 30.0}, [{"n": 0}, {"n": 1}], 0)
    # The next window's: only the segment that is new since.
    first.save_checkpoint(job_id, {"offset": 960_000, "seconds": 60.0}, [{"n": 2}], 2)
    listed = first.newest(10)[0]
    assert listed.checkpoint is None  # listings leave it out
    second = JobStore(path, clock)
    second.recover()
    again = second.claim()
    assert again is not None and again.checkpoint == {
        "offset": 960_000,
        "seconds": 60.0,
        "segments": [{"n": 0}, {"n": 1}, {"n": 2}],
    }
    assert second.complete(job_id, {"info": {}, "segments": []}, 60.0)
    done = second.get(job_id)
    assert done is not None and done.checkpoint is None
    assert segment_rows(path) == 0
    # A finished job takes no checkpoint.
    second.save_checkpoint(job_id, {"offset": 1}, [{"n": 0}], 0)
    assert (second.get(job_id, with_checkpoint=True) or done).checkpoint is None
    assert segment_rows(path) == 0


def test_a_run_started_over_replaces_the_checkpoint_segments_after_its_own(
    store: JobStore, clock: Clock
) -> None:
    job_id = add(store, clock)
    store.claim()
    store.save_checkpoint(job_id, {"offset": 2}, [{"n": 0}, {"n": 1}, {"n": 2}], 0)
    store.save_checkpoint(job_id, {"offset": 1}, [{"n": "again"}], 1)
    plain = store.get(job_id)
    assert plain is not None and plain.checkpoint is None  # asked for only to resume
    job = store.get(job_id, with_checkpoint=True)
    assert job is not None and job.checkpoint == {
        "offset": 1,
        "segments": [{"n": 0}, {"n": "again"}],
    }
    assert store.cancel(job_id) is not None
    assert segment_rows(store.path) == 0


def test_a_checkpoint_written_whole_by_an_earlier_version_still_reads(
    store: JobStore, clock: Clock
) -> None:
    job_id = add(store, clock)
    store.claim()
    whole = {"offset": 5, "seconds": 0.0, "info": {}, "segments": [{"n": 0}]}
    with closing(sqlite3.connect(store.path)) as conn, conn:
        conn.execute("UPDATE jobs SET checkpoint = ? WHERE id = ?", (json.dumps(whole), job_id))
    job = store.get(job_id, with_checkpoint=True)
    assert job is not None and job.checkpoint == whole


def segment_rows(path: Path) -> int:
    with closing(sqlite3.connect(path)) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM checkpoint_segments").fetchone()[0])


def test_a_shutdown_requeues_one_job(store: JobStore, clock: Clock) -> None:
    job_id = add(store, clock)
    store.claim()
    store.requeue(job_id)
    job = store.get(job_id)
    assert job is not None and (job.status, job.started_at) == ("queued", None)


def test_retention_deletes_only_finished_jobs_past_it(store: JobStore, clock: Clock) -> None:
    old, recent, waiting = add(store, clock), add(store, clock), add(store, clock)
    store.claim()
    store.complete(old, {"info": {}, "segments": []}, 1.0)
    clock.now += 3600
    store.claim()
    store.fail(recent, {"message": "no"})
    clock.now += 1800
    # An hour and a half later, a retention of one hour: only `old` is past it.
    assert store.purge(3600) == [old]
    assert store.get(old) is None
    assert {j.id for j in store.newest(10)} == {recent, waiting}
    clock.now += 10 * 3600
    assert store.purge(3600) == [recent]
    assert [j.id for j in store.newest(10)] == [waiting]  # never a queued one
