"""One job store shared by several server processes on one host, as Ray Serve's replicas
share a data dir: no job is claimed twice, a live runner's job is never taken from it, a
dead or silent one's is, a cancel through one server reaches the runner in another, and a
database made before jobs had owners is brought up to date."""

from __future__ import annotations

import socket
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

from vocalis.batch.owner import Owner
from vocalis.batch.store import JobStore, new_id

OPTIONS = {"model": "whisper-tiny.en", "job": {"response_format": "srt"}}
JOBS = 120

# Claims until the queue is empty, printing each claimed id: one server's runner.
CLAIMER = """
import sys
from pathlib import Path
from vocalis.batch.store import JobStore
store = JobStore(Path(sys.argv[1]))
sys.stdin.readline()  # both processes start claiming together
while (job := store.claim()) is not None:
    print(job.id, flush=True)
"""


def fill(store: JobStore, count: int) -> list[str]:
    ids = [new_id() for _ in range(count)]
    for job_id in ids:
        store.add(job_id, OPTIONS, "a.wav", 1, 60.0)
    return ids


def claimer(path: Path, script: str = CLAIMER) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(script), str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


def test_two_processes_never_claim_the_same_job(tmp_path: Path) -> None:
    store = JobStore(tmp_path / "jobs.sqlite3")
    ids = fill(store, JOBS)
    runners = [claimer(store.path) for _ in range(2)]
    for runner in runners:
        assert runner.stdin is not None
        runner.stdin.write("go\n")
        runner.stdin.flush()
    claimed = [runner.communicate(timeout=60)[0].split() for runner in runners]
    assert all(runner.returncode == 0 for runner in runners)
    first, second = (set(ids) for ids in claimed)
    assert len(claimed[0]) + len(claimed[1]) == JOBS
    assert not first & second and first | second == set(ids)
    assert first and second, "both processes claimed some: they did contend"
    # Every claim is recorded as its claimer's, and seen as such from here.
    assert {job.status for job in store.newest(JOBS)} == {"running"}
    assert _owner_pids(store) == {
        runner.pid: len(found) for runner, found in zip(runners, claimed, strict=True)
    }


def _owner_pids(store: JobStore) -> dict[int, int]:
    with sqlite3.connect(store.path) as conn:
        rows = conn.execute("SELECT owner, COUNT(*) FROM jobs GROUP BY owner").fetchall()
    parsed = {Owner.parse(owner): count for owner, count in rows}
    return {owner.pid: count for owner, count in parsed.items() if owner is not None}


HOLDER = """
import sys
from pathlib import Path
from vocalis.batch.store import JobStore
job = JobStore(Path(sys.argv[1])).claim()
print(job.id, flush=True)
sys.stdin.readline()  # runs "the job" until told to go
"""


def test_a_live_runners_job_stays_with_it_and_a_dead_ones_comes_back(tmp_path: Path) -> None:
    store = JobStore(tmp_path / "jobs.sqlite3")
    (job_id,) = fill(store, 1)
    holder = claimer(store.path, HOLDER)
    assert holder.stdout is not None and holder.stdout.readline().strip() == job_id
    # A server starting beside it (a new replica) leaves the running job alone.
    assert JobStore(store.path).recover() == []
    job = store.get(job_id)
    assert job is not None and job.status == "running"
    holder.kill()
    holder.communicate()
    # Its process is gone: the job runs again, at once, at the next start or heartbeat.
    assert JobStore(store.path).recover() == [job_id]
    job = store.get(job_id)
    assert job is not None and (job.status, job.attempts) == ("queued", 1)


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_a_runner_on_another_host_keeps_its_job_while_it_beats(tmp_path: Path) -> None:
    clock = Clock()
    path = tmp_path / "jobs.sqlite3"
    elsewhere = JobStore(path, clock, owner=Owner("other-host", 7, "123"))
    here = JobStore(path, clock)
    (job_id,) = fill(elsewhere, 1)
    elsewhere.claim()
    clock.now += 50
    assert elsewhere.heartbeat() == {job_id}
    clock.now += 50
    assert here.recover(stale_seconds=60) == []
    clock.now += 11  # 61 s since its last heartbeat
    assert here.recover(stale_seconds=60) == [job_id]
    # The silent runner's heartbeat no longer names the job: it stops it if it comes back.
    assert elsewhere.heartbeat() == set()


def test_a_cancel_through_one_server_reaches_the_runner_in_another(tmp_path: Path) -> None:
    path = tmp_path / "jobs.sqlite3"
    runner = JobStore(path, owner=Owner(socket.gethostname(), 1, "runner"))
    other = JobStore(path)
    first, second = fill(other, 2)
    runner.claim()
    runner.claim()
    assert runner.heartbeat() == {first, second}
    assert other.heartbeat() == set()  # it runs nothing
    cancelled = other.cancel(first)
    assert cancelled is not None and cancelled.status == "cancelled"
    assert runner.heartbeat() == {second}


OLD_SCHEMA = """
CREATE TABLE jobs (
    id TEXT PRIMARY KEY, status TEXT NOT NULL, options TEXT NOT NULL, filename TEXT NOT NULL,
    upload_bytes INTEGER NOT NULL, seconds_done REAL NOT NULL DEFAULT 0, seconds_total REAL,
    error TEXT, result TEXT, attempts INTEGER NOT NULL DEFAULT 0, created_at REAL NOT NULL,
    started_at REAL, finished_at REAL
);
INSERT INTO jobs (id, status, options, filename, upload_bytes, attempts, created_at, started_at)
VALUES ('job_old', 'running', '{}', 'a.wav', 1, 1, 1.0, 2.0);
"""


def test_a_database_from_before_owners_gains_them(tmp_path: Path) -> None:
    path = tmp_path / "jobs.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.executescript(OLD_SCHEMA)
    store = JobStore(path)
    # Left running by the old server, which has stopped: it runs again.
    assert store.recover() == ["job_old"]
    claimed = store.claim()
    assert claimed is not None and (claimed.id, claimed.attempts) == ("job_old", 2)
    assert store.heartbeat() == {"job_old"}
    with sqlite3.connect(path) as conn:
        columns = {row[1] for row in conn.execute("PRAGMA table_info(jobs)")}
    assert {"owner", "heartbeat_at"} <= columns
