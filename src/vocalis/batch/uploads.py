"""The recordings waiting for their jobs, on disk, and the bound on what the jobs keep.

An upload is written under a temporary name and renamed when complete, so a crash never
leaves a partial file under a job's name. It is deleted once its job is done; the result
stays in the database until the retention time is over.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import BinaryIO

from vocalis.errors import VocalisError

SUFFIX = ".upload"
PARTIAL = ".part"
COPY_CHUNK = 1024 * 1024


class StorageFull(VocalisError):
    status_code = 507
    error_type = "server_error"
    code = "insufficient_storage"

    def __init__(self, message: str):
        super().__init__(message, param="file")


class Uploads:
    def __init__(self, root: Path, data_dir: Path, max_bytes: int):
        self.root = root
        self.data_dir = data_dir
        self.max_bytes = max_bytes

    def path(self, job_id: str) -> Path:
        return self.root / f"{job_id}{SUFFIX}"

    def check_room(self, incoming: int) -> None:
        """Refuses an upload that would take the jobs' disk use over the limit."""
        used = usage(self.data_dir)
        if used + incoming > self.max_bytes:
            limit = self.max_bytes / 1024 / 1024
            raise StorageFull(
                f"No room for this recording: jobs use {used / 1024 / 1024:.1f} MB of "
                f"{limit:g} MB (setting VOCALIS_JOBS_MAX_DISK_MB). Retry once jobs finish "
                "and their results expire (VOCALIS_JOBS_RETENTION_HOURS)."
            )

    def save(self, job_id: str, source: BinaryIO) -> int:
        """Copies the upload to disk, durably, under the job's name; its size in bytes."""
        self.root.mkdir(parents=True, exist_ok=True)
        target = self.path(job_id)
        partial = target.with_suffix(PARTIAL)
        source.seek(0)
        try:
            with partial.open("wb") as out:
                shutil.copyfileobj(source, out, COPY_CHUNK)
                out.flush()
                os.fsync(out.fileno())
            os.replace(partial, target)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        return target.stat().st_size

    def delete(self, job_id: str) -> None:
        self.path(job_id).unlink(missing_ok=True)

    def sweep(self, keep: set[str], min_age: float = 0.0) -> list[str]:
        """Deletes every file that is no queued or running job's upload (left by a crash,
        or by a job purged meanwhile) and at least `min_age` seconds old; their names.
        The age spares an upload being saved for a job not yet in the store."""
        if not self.root.exists():
            return []
        now = time.time()
        removed = []
        for path in self.root.iterdir():
            owned = path.suffix == SUFFIX and path.stem in keep
            if owned or now - _mtime(path) < min_age:
                continue
            path.unlink(missing_ok=True)
            removed.append(path.name)
        return removed


def usage(root: Path) -> int:
    """Bytes of every file under `root`: the database with its journal, and the uploads."""
    if not root.exists():
        return 0
    return sum(_size(p) for p in root.rglob("*"))


# A file may go between listing and looking (a job finishing): it counts as nothing, and
# as new, so nobody deletes it on that account.
def _size(path: Path) -> int:
    try:
        return path.stat().st_size if path.is_file() else 0
    except FileNotFoundError:
        return 0


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return time.time()
