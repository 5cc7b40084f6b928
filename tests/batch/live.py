"""A Vocalis server with its own data dir for the durable-jobs tests, and the calls they
share: submit a recording, poll its job."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import LiveServer, start_server, stop_server

MODEL = "whisper-tiny.en"
# Windows of 30 s, so a minute of audio is several steps; room for a few minutes of WAV.
ENV = {"VOCALIS_WINDOW_SECONDS": "30", "VOCALIS_JOBS_MAX_DISK_MB": "12"}
Job = dict[str, Any]


def start_jobs_server(tmp: Path) -> LiveServer:
    """A server whose data dir is `tmp`/data: a second one on the same `tmp` finds it."""
    return start_server(tmp, VOCALIS_DATA_DIR=str(tmp / "data"), **ENV)


@dataclass
class JobsServer:
    """The server process of the moment: a test may kill it and start the next one."""

    tmp: Path
    live: LiveServer

    @property
    def data_dir(self) -> Path:
        return self.tmp / "data"

    def client(self) -> httpx.Client:
        return self.live.client()

    def kill_and_restart(self) -> None:
        """SIGKILL (no shutdown, no cleanup), then a new process on the same data dir."""
        self.live.process.kill()
        self.live.process.wait()
        self.live = start_jobs_server(self.tmp)


# The one server of the session: each module that imports the fixture gets its own
# fixture instance, and all of them share this.
_shared: list[JobsServer] = []


@pytest.fixture(scope="session")
def jobs_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JobsServer]:
    if not _shared:
        tmp = tmp_path_factory.mktemp("jobs")
        _shared.append(JobsServer(tmp, start_jobs_server(tmp)))
    server = _shared[0]
    yield server
    if _shared:  # the first teardown, at the end of the session
        _shared.clear()
        stop_server(server.live)


def submit(http: httpx.Client, audio: bytes, name: str = "talk.wav", **fields: str) -> Job:
    response = http.post(
        "/v1/audio/jobs", files={"file": (name, audio)}, data={"model": MODEL, **fields}
    )
    assert response.status_code == 200, response.text
    job: Job = response.json()
    return job


def job(http: httpx.Client, job_id: str) -> Job:
    response = http.get(f"/v1/audio/jobs/{job_id}")
    assert response.status_code == 200, response.text
    found: Job = response.json()
    return found


def wait_for(
    http: httpx.Client,
    job_id: str,
    done: Callable[[Job], bool],
    timeout: float = 60,
    poll: float = 0.1,
) -> Job:
    """Polls the job until `done` says so; the job as it was then."""
    deadline = time.monotonic() + timeout
    while True:
        found = job(http, job_id)
        if done(found):
            return found
        assert time.monotonic() < deadline, found
        time.sleep(poll)


def finished(found: Job) -> bool:
    return found["status"] in ("completed", "failed", "cancelled")


def progressed(seconds: float) -> Callable[[Job], bool]:
    return lambda found: found["status"] == "running" and found["progress"]["seconds"] > seconds
