"""Shared fixtures: the public recordings, word error rate, and a live Vocalis server."""

from __future__ import annotations

import csv
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jiwer
import numpy as np
import pytest
from openai import OpenAI

ROOT = Path(__file__).resolve().parents[1]


def eval_dir() -> Path:
    configured = os.environ.get("VOCALIS_EVAL_DIR")
    return Path(configured) if configured else ROOT.parent / "shared" / "eval" / "public"


EVAL_DIR = eval_dir()


def references() -> dict[str, tuple[str, str]]:
    """file -> (language, reference text), from REFERENCE.tsv."""
    with (EVAL_DIR / "REFERENCE.tsv").open(encoding="utf-8") as f:
        return {
            row["file"]: (row["language"], row["reference"])
            for row in csv.DictReader(f, delimiter="\t")
        }


def installed_model(name: str) -> Path:
    """The directory of a model from the user's models dir, assembled offline if needed."""
    from vocalis.config import Settings
    from vocalis.models.catalog import default_catalog
    from vocalis.models.store import ModelStore

    settings = Settings()
    store = ModelStore(default_catalog(), settings.models_dir, allow_download=False)
    return store.path(store.spec(name))


def rms(audio: np.ndarray) -> float:
    """Root mean square level of a signal: about 0.1 for speech, 0 for silence."""
    return float(np.sqrt(np.mean(np.square(audio, dtype=np.float64))))


def normalise(text: str) -> str:
    text = text.lower().replace("-", " ")
    return " ".join(re.sub(r"[^\w' ]+", " ", text).split())


def wer(reference: str, hypothesis: str) -> float:
    return float(jiwer.wer(normalise(reference), normalise(hypothesis) or "<empty>"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LiveServer:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def client(self, timeout: float = 120) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=timeout)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def cpu_seconds(self) -> float:
        """User and system CPU of the server process so far, all its threads."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def settle(self, timeout: float = 60) -> float:
        """Until the server uses under 20 ms of CPU in 0.25 s (nothing runs): its CPU then."""
        deadline = time.monotonic() + timeout
        now = self.cpu_seconds()
        while time.monotonic() < deadline:
            time.sleep(0.25)
            now, before = self.cpu_seconds(), now
            if now - before < 0.02:
                break
        return now

    @contextmanager
    def hanging_up(
        self, path: str, files: dict[str, Any], data: dict[str, str] | None = None
    ) -> Iterator[None]:
        """Send a POST and, when the block ends, close the connection without reading."""
        request = httpx.Request("POST", f"{self.url}{path}", files=files, data=data)
        head = f"POST {path} HTTP/1.1\r\n" + "".join(
            f"{k}: {v}\r\n" for k, v in request.headers.items()
        )
        port = int(self.url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port)) as conn:
            conn.sendall(head.encode() + b"\r\n" + request.read())
            yield

    def wait_for_log(self, pattern: str, timeout: float = 120, count: int = 1) -> None:
        """Until the log has `count` matches of `pattern`."""
        deadline = time.monotonic() + timeout
        while len(re.findall(pattern, self.log_text())) < count:
            assert time.monotonic() < deadline, f"no {pattern!r} in the log:\n{self.log_text()}"
            time.sleep(0.2)

    def peak_memory_mib(self) -> float:
        """The process's peak resident memory so far (VmHWM)."""
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        match = re.search(r"VmHWM:\s+(\d+) kB", status)
        assert match, status
        return int(match.group(1)) / 1024


def start_server(tmp: Path, **env: str) -> LiveServer:
    port = free_port()
    log = tmp / f"server-{port}.log"
    environment = {
        **os.environ,
        "VOCALIS_PORT": str(port),
        "VOCALIS_HOST": "127.0.0.1",
        # Durable jobs of its own: never the developer's queued jobs.
        "VOCALIS_DATA_DIR": str(tmp / f"data-{port}"),
        **env,
    }
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "vocalis", "serve"],
            env=environment,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited:\n{log.read_text()}")
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return LiveServer(url, process, log)
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"server did not start:\n{log.read_text()}")


def stop_server(server: LiveServer) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.process.kill()


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One server for the session, with the default models preloaded."""
    live = start_server(
        tmp_path_factory.mktemp("server"),
        VOCALIS_PRELOAD="true",
        VOCALIS_MAX_UPLOAD_MB="4",
        VOCALIS_MAX_CONCURRENT_JOBS="2",
        VOCALIS_MAX_QUEUED_JOBS="3",
    )
    yield live
    stop_server(live)


@pytest.fixture(scope="session")
def client(server: LiveServer) -> Iterator[OpenAI]:
    """The official OpenAI SDK, validating every response against its types."""
    with OpenAI(
        base_url=f"{server.url}/v1",
        api_key="unused",
        _strict_response_validation=True,
        max_retries=0,
    ) as client:
        yield client


@pytest.fixture(scope="session")
def http(server: LiveServer) -> Iterator[httpx.Client]:
    with server.client() as client:
        yield client
