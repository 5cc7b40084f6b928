"""The durable record of every job: one SQLite table (and one more for the segments of the
checkpoints, so that each is written once), each change one transaction.

A job is queued, claimed (running), and ends completed, failed or cancelled. The store only
records; the runner decides. Each call opens its own connection, so the event loop, the
runner and the worker threads that report progress never share one. The database file is
created with the first job: a server that never gets one writes nothing to its data dir.

Several servers on one host may share the file (Ray Serve replicas): every change is one
transaction under SQLite's write lock, a claim takes a job in one statement, and a running
job names its owner and carries its heartbeat, so a server starting up requeues only the
jobs whose runner is gone (`owner.abandoned`). SQLite's locks need one host's local disk:
not a network file system, where WAL does not work at all.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from vocalis.batch.owner import Identity, Owner, abandoned, process_identity, this_process

Status = Literal["queued", "running", "completed", "failed", "cancelled"]
FINISHED: tuple[Status, ...] = ("completed", "failed", "cancelled")
# How long a writer waits for another's transaction before giving up.
BUSY_TIMEOUT_SECONDS = 30.0

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    options TEXT NOT NULL,
    filename TEXT NOT NULL,
    upload_bytes INTEGER NOT NULL,
    seconds_done REAL NOT NULL DEFAULT 0,
    seconds_total REAL,
    error TEXT,
    result TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL,
    started_at REAL,
    finished_at REAL,
    owner TEXT,
    heartbeat_at REAL,
    checkpoint TEXT
);
CREATE INDEX IF NOT EXISTS jobs_by_status ON jobs (status, created_at);
CREATE TABLE IF NOT EXISTS checkpoint_segments (
    job_id TEXT NOT NULL,
    n INTEGER NOT NULL,
    segment TEXT NOT NULL,
    PRIMARY KEY (job_id, n)
) WITHOUT ROWID;
"""
# Added after the first release: a database made before them gets them at its next open.
ADDED_COLUMNS = {"owner": "TEXT", "heartbeat_at": "REAL", "checkpoint": "TEXT"}
# A running job whose heartbeat is older than this is taken to be abandoned.
STALE_SECONDS = 60.0
# A listing leaves out the results and checkpoints: hours of segments each.
LISTED = (
    "id, status, options, filename, upload_bytes, seconds_done, seconds_total, error,"
    " attempts, created_at, started_at, finished_at"
)


@dataclass(frozen=True)
class Job:
    """One row of the table, as the rest of the server sees it."""

    id: str
    status: Status
    options: dict[str, Any]
    filename: str
    upload_bytes: int
    seconds_done: float
    seconds_total: float | None
    error: dict[str, Any] | None
    result: dict[str, Any] | None
    attempts: int
    created_at: float
    started_at: float | None
    finished_at: float | None
    # What a job stopped part-way can resume from (the runner's business): the head last
    # saved with its "segments"; None if nothing, or unless asked for (`JobStore.get`).
    checkpoint: dict[str, Any] | None = None

    @property
    def finished(self) -> bool:
        return self.status in FINISHED


def new_id() -> str:
    return f"job_{secrets.token_hex(12)}"


class JobStore:
    def __init__(
        self,
        path: Path,
        clock: Callable[[], float] = time.time,
        owner: Owner | None = None,
        identity: Identity = process_identity,
    ):
        self.path = path
        self.clock = clock
        # This process, as the owner of the jobs it claims; `identity` looks at others.
        self.owner = owner or this_process()
        self.identity = identity
        self._ready = False

    def exists(self) -> bool:
        return self.path.exists()

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None)
        try:
            conn.row_factory = sqlite3.Row
            if not self._ready:
                _create(conn)
                self._ready = True
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        finally:
            conn.close()

    def add(
        self,
        job_id: str,
        options: dict[str, Any],
        filename: str,
        upload_bytes: int,
        seconds_total: float | None,
    ) -> Job:
        with self._connect() as conn:
            conn.execute(
                "INSERT INTO jobs (id, status, options, filename, upload_bytes, seconds_total,"
                " created_at) VALUES (?, 'queued', ?, ?, ?, ?, ?)",
                (job_id, json.dumps(options), filename, upload_bytes, seconds_total, self.clock()),
            )
        return self._require(job_id)

    def get(
        self, job_id: str, with_result: bool = True, with_checkpoint: bool = False
    ) -> Job | None:
        """The job; without its result (None) for a status poll, and without its checkpoint
        (hours of segments) unless asked, by the run that resumes it."""
        if not self.exists():
            return None
        columns = LISTED + (", result" if with_result else "")
        columns += ", checkpoint" if with_checkpoint else ""
        with self._connect() as conn:
            row = conn.execute(f"SELECT {columns} FROM jobs WHERE id = ?", (job_id,)).fetchone()
            job = _job(row) if row else None
            if job and job.checkpoint:
                return replace(job, checkpoint=_checkpoint(conn, job_id, job.checkpoint))
        return job

    def _require(self, job_id: str) -> Job:
        job = self.get(job_id, with_result=False)
        assert job is not None, job_id
        return job

    def newest(self, limit: int, status: Status | None = None) -> list[Job]:
        if not self.exists():
            return []
        where, args = ("WHERE status = ?", (status,)) if status else ("", ())
        with self._connect() as conn:
            rows = conn.execute(
                f"SELECT {LISTED} FROM jobs {where} ORDER BY created_at DESC, rowid DESC LIMIT ?",
                (*args, limit),
            ).fetchall()
        return [_job(row) for row in rows]

    def unfinished_ids(self) -> set[str]:
        if not self.exists():
            return set()
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT id FROM jobs WHERE status IN ('queued', 'running')"
            ).fetchall()
        return {row["id"] for row in rows}

    def claim(self) -> Job | None:
        """The oldest queued job, now running and ours: one statement under the write
        lock, so no two runners, in this process or another, ever take the same job."""
        if not self.exists():
            return None
        now = self.clock()
        with self._connect() as conn:
            row = conn.execute(
                "UPDATE jobs SET status = 'running', started_at = ?, seconds_done = 0,"
                " attempts = attempts + 1, owner = ?, heartbeat_at = ?"
                " WHERE id = (SELECT id FROM jobs WHERE status = 'queued'"
                " ORDER BY created_at, rowid LIMIT 1) AND status = 'queued' RETURNING id",
                (now, str(self.owner), now),
            ).fetchone()
        return self.get(row["id"], with_result=False, with_checkpoint=True) if row else None

    def heartbeat(self) -> set[str]:
        """Renews the heartbeat of the jobs this process runs; their ids. A job missing
        from them was cancelled (or taken back) through another server."""
        if not self.exists():
            return set()
        with self._connect() as conn:
            rows = conn.execute(
                "UPDATE jobs SET heartbeat_at = ? WHERE owner = ? AND status = 'running'"
                " RETURNING id",
                (self.clock(), str(self.owner)),
            ).fetchall()
        return {row["id"] for row in rows}

    def progress(self, job_id: str, seconds_done: float) -> None:
        with self._connect() as conn:
            conn.execute(
                "UPDATE jobs SET seconds_done = MAX(seconds_done, ?)"
                " WHERE id = ? AND status = 'running'",
                (seconds_done, job_id),
            )

    def save_checkpoint(
        self, job_id: str, head: dict[str, Any], segments: list[dict[str, Any]], first: int
    ) -> None:
        """What the running job has done so far, for a later run to resume from: `head`
        takes the last one's place, and `segments` follow the `first` saved before them, so
        each segment is written once however long the recording."""
        count = first + len(segments)
        with self._connect() as conn:
            saved = conn.execute(
                "UPDATE jobs SET checkpoint = ? WHERE id = ? AND status = 'running'",
                (json.dumps({**head, "segment_count": count}), job_id),
            )
            if saved.rowcount == 1:
                conn.execute(
                    "DELETE FROM checkpoint_segments WHERE job_id = ? AND n >= ?", (job_id, first)
                )
                conn.executemany(
                    "INSERT INTO checkpoint_segments (job_id, n, segment) VALUES (?, ?, ?)",
                    [(job_id, first + i, json.dumps(s)) for i, s in enumerate(segments)],
                )

    def complete(self, job_id: str, result: dict[str, Any], seconds_total: float) -> bool:
        """False when the job was cancelled meanwhile: the result is dropped."""
        return self._finish(
            job_id,
            "completed",
            "result = ?, seconds_done = ?, seconds_total = ?",
            (json.dumps(result), seconds_total, seconds_total),
        )

    def fail(self, job_id: str, error: dict[str, Any]) -> bool:
        return self._finish(job_id, "failed", "error = ?", (json.dumps(error),))

    def _finish(self, job_id: str, status: Status, sets: str, args: tuple[Any, ...]) -> bool:
        with self._connect() as conn:
            cursor = conn.execute(
                f"UPDATE jobs SET status = ?, finished_at = ?, checkpoint = NULL, {sets}"
                " WHERE id = ? AND status = 'running'",
                (status, self.clock(), *args, job_id),
            )
            if cursor.rowcount == 1:
                _drop_checkpoint(conn, job_id)
        return cursor.rowcount == 1

    def cancel(self, job_id: str) -> Job | None:
        """Marks a queued or running job cancelled; a finished one is left as it is."""
        if not self.exists():
            return None
        with self._connect() as conn:
            cursor = conn.execute(
                "UPDATE jobs SET status = 'cancelled', finished_at = ?, checkpoint = NULL"
                " WHERE id = ? AND status IN ('queued', 'running')",
                (self.clock(), job_id),
            )
            if cursor.rowcount == 1:
                _drop_checkpoint(conn, job_id)
        return self.get(job_id, with_result=False)

    def requeue(self, job_id: str) -> None:
        """A running job back in the queue (a shutdown), to resume from its checkpoint."""
        with self._connect() as conn:
            conn.execute(
                f"UPDATE jobs SET {REQUEUED} WHERE id = ? AND status = 'running'", (job_id,)
            )

    def recover(self, stale_seconds: float = STALE_SECONDS) -> list[str]:
        """Every running job whose runner is gone goes back in the queue: at start-up, a
        process that died; later, a server that stopped beating. A job another live
        server runs is left to it."""
        if not self.exists():
            return []
        now, host = self.clock(), self.owner.host
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT id, owner, heartbeat_at FROM jobs WHERE status = 'running'"
            ).fetchall()
            gone = [
                row["id"]
                for row in rows
                if row["owner"] != str(self.owner)
                and abandoned(
                    Owner.parse(row["owner"]),
                    row["heartbeat_at"],
                    now,
                    stale_seconds,
                    host,
                    self.identity,
                )
            ]
            conn.executemany(
                f"UPDATE jobs SET {REQUEUED} WHERE id = ? AND status = 'running'",
                [(job_id,) for job_id in gone],
            )
        return gone

    def purge(self, retention_seconds: float) -> list[str]:
        """Deletes the finished jobs older than the retention; their ids."""
        if not self.exists():
            return []
        cutoff = self.clock() - retention_seconds
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT id FROM jobs WHERE finished_at IS NOT NULL AND finished_at < ?",
                (cutoff,),
            ).fetchall()
            conn.execute(
                "DELETE FROM jobs WHERE finished_at IS NOT NULL AND finished_at < ?", (cutoff,)
            )
        return [row["id"] for row in rows]


REQUEUED = (
    "status = 'queued', seconds_done = 0, started_at = NULL, owner = NULL, heartbeat_at = NULL"
)


def _create(conn: sqlite3.Connection) -> None:
    # Before the first table: freed pages go back to the file system, so deleting
    # results frees disk. WAL: readers never wait for the runner's writes.
    conn.execute("PRAGMA auto_vacuum = FULL")
    conn.execute("PRAGMA journal_mode = WAL")
    # Under the write lock: two servers opening the file at once add each column once.
    conn.execute("BEGIN IMMEDIATE")
    for statement in filter(str.strip, SCHEMA.split(";")):
        conn.execute(statement)
    present = {row[1] for row in conn.execute("PRAGMA table_info(jobs)")}
    for name, kind in ADDED_COLUMNS.items():
        if name not in present:
            conn.execute(f"ALTER TABLE jobs ADD COLUMN {name} {kind}")
    conn.execute("COMMIT")


def _checkpoint(conn: sqlite3.Connection, job_id: str, head: dict[str, Any]) -> dict[str, Any]:
    """A saved checkpoint whole: its head and the segments it counts."""
    if "segment_count" not in head:
        return head  # written whole, before segments had a table of their own
    rows = conn.execute(
        "SELECT segment FROM checkpoint_segments WHERE job_id = ? AND n < ? ORDER BY n",
        (job_id, head["segment_count"]),
    ).fetchall()
    rest = {k: v for k, v in head.items() if k != "segment_count"}
    return {**rest, "segments": [json.loads(row["segment"]) for row in rows]}


def _drop_checkpoint(conn: sqlite3.Connection, job_id: str) -> None:
    conn.execute("DELETE FROM checkpoint_segments WHERE job_id = ?", (job_id,))


def _job(row: sqlite3.Row) -> Job:
    listed = row.keys()  # a listing leaves the result out

    def loaded(name: str) -> Any:
        return json.loads(row[name]) if row[name] is not None else None

    return Job(
        id=row["id"],
        status=row["status"],
        options=json.loads(row["options"]),
        filename=row["filename"],
        upload_bytes=row["upload_bytes"],
        seconds_done=row["seconds_done"],
        seconds_total=row["seconds_total"],
        error=loaded("error"),
        result=loaded("result") if "result" in listed else None,
        checkpoint=loaded("checkpoint") if "checkpoint" in listed else None,
        attempts=row["attempts"],
        created_at=row["created_at"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
    )
