"""The uploads on disk: written whole or not at all, swept when no job owns them, and the
disk bound."""

from __future__ import annotations

import io
import os
import time
from pathlib import Path

import pytest

from vocalis.batch.uploads import StorageFull, Uploads, usage


@pytest.fixture
def uploads(tmp_path: Path) -> Uploads:
    return Uploads(tmp_path / "uploads", tmp_path, max_bytes=10_000)


class Breaks(io.BytesIO):
    """A client upload that fails part-way."""

    def read(self, size: int | None = -1) -> bytes:
        if self.tell() > 0:
            raise OSError("connection reset")
        return super().read(100)


def test_an_upload_is_saved_whole(uploads: Uploads) -> None:
    assert uploads.save("job_a", io.BytesIO(b"x" * 3000)) == 3000
    assert uploads.path("job_a").read_bytes() == b"x" * 3000
    assert [p.name for p in uploads.root.iterdir()] == ["job_a.upload"]


def test_a_broken_upload_leaves_no_file(uploads: Uploads) -> None:
    with pytest.raises(OSError, match="connection reset"):
        uploads.save("job_b", Breaks(b"y" * 5000))
    assert list(uploads.root.iterdir()) == []


def test_the_disk_bound_counts_everything_the_jobs_keep(uploads: Uploads, tmp_path: Path) -> None:
    uploads.check_room(10_000)
    uploads.save("job_a", io.BytesIO(b"x" * 4000))
    (tmp_path / "jobs.sqlite3").write_bytes(b"d" * 3000)
    assert usage(tmp_path) == 7000
    uploads.check_room(3000)
    with pytest.raises(StorageFull) as refused:
        uploads.check_room(3001)
    assert refused.value.status_code == 507
    assert refused.value.envelope()["error"]["code"] == "insufficient_storage"
    assert "VOCALIS_JOBS_MAX_DISK_MB" in refused.value.message
    uploads.delete("job_a")
    uploads.check_room(7000)


def test_the_sweep_keeps_what_running_jobs_own(uploads: Uploads) -> None:
    for name in ("job_live", "job_done", "job_fresh"):
        uploads.save(name, io.BytesIO(b"z"))
    partial = uploads.root / "job_crashed.part"
    partial.write_bytes(b"half")
    hour_ago = time.time() - 3600
    for name in ("job_live.upload", "job_done.upload", "job_crashed.part"):
        os.utime(uploads.root / name, (hour_ago, hour_ago))
    # A minute's grace spares the upload being saved for a job not yet stored.
    removed = uploads.sweep({"job_live"}, min_age=60)
    assert sorted(removed) == ["job_crashed.part", "job_done.upload"]
    assert sorted(p.name for p in uploads.root.iterdir()) == [
        "job_fresh.upload",
        "job_live.upload",
    ]
    assert uploads.sweep({"job_live"}) == ["job_fresh.upload"]
