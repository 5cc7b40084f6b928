"""Shared by the Ray Serve tests and benchmarks/ray_serve.py: `vocalis ray-serve` started
as a process of its own, the processes it started (found by PID in /proc), and Ray
imported without its import-time warnings."""

from __future__ import annotations

import importlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

import httpx

from tests.conftest import free_port

# Ray's own traffic on the loopback, no usage report: for every Ray process a test starts.
RAY_ENV = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_USAGE_STATS_ENABLED": "0"}
REPLICA = re.compile(r"^ray::ServeReplica:vocalis:vocalis")
START_SECONDS = 240


def quietly(module: str) -> ModuleType:
    """Ray Serve's schemas use pydantic features pydantic deprecates: warnings at import,
    which the suite turns into errors. Nothing of Vocalis is silenced here."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return importlib.import_module(module)


@dataclass
class RayServe:
    """A running `vocalis ray-serve` and what it was started with."""

    url: str
    process: subprocess.Popen[bytes]
    log: Path
    env: dict[str, str]
    temp_dir: Path
    data_dir: Path
    started_in: float = 0.0
    # Figures measured along the way, and the replica holding each routed model.
    figures: dict[str, object] = field(default_factory=dict)
    routes: dict[str, str] = field(default_factory=dict)

    def client(self, **headers: str) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=120, headers=headers)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def gcs_address(self) -> str:
        match = re.search(r"Ray cluster at (\S+):", self.log_text())
        assert match, self.log_text()
        return match.group(1)

    def replica_pids(self) -> set[int]:
        return {pid for pid in descendants(self.process.pid) if REPLICA.match(cmdline(pid))}


def start_ray_serve(tmp: Path, *args: str, **settings: str) -> RayServe:
    """`vocalis ray-serve ARGS` on a free port, its Ray in a temp dir of its own (short:
    Ray's socket paths must fit in 107 bytes), its durable jobs under `tmp`."""
    temp_dir = Path(tempfile.mkdtemp(prefix="vray", dir="/tmp"))
    port = free_port()
    env = {
        **os.environ,
        **RAY_ENV,
        "RAY_TMPDIR": str(temp_dir),
        "VOCALIS_DATA_DIR": str(tmp / "data"),
        **settings,
    }
    log = tmp / f"ray-serve-{port}.log"
    command = [sys.executable, "-m", "vocalis", "ray-serve", "--port", str(port), *args]
    started = time.monotonic()
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    serve = RayServe(f"http://127.0.0.1:{port}", process, log, env, temp_dir, tmp / "data")
    while "Ray cluster at" not in serve.log_text():
        if process.poll() is not None or time.monotonic() - started > START_SECONDS:
            stop_ray_serve(serve)
            raise RuntimeError(f"vocalis ray-serve did not start:\n{serve.log_text()}")
        time.sleep(0.2)
    serve.started_in = time.monotonic() - started
    return serve


def stop_ray_serve(serve: RayServe) -> None:
    """SIGTERM to the command alone (not its process group: Ray's processes are the
    command's to stop), then its temp dir goes."""
    if serve.process.poll() is None:
        serve.process.send_signal(signal.SIGTERM)
        try:
            serve.process.wait(timeout=90)
        except subprocess.TimeoutExpired:
            serve.process.kill()
            serve.process.wait()
    shutil.rmtree(serve.temp_dir, ignore_errors=True)


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def parents() -> dict[int, int]:
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        found[int(stat.parent.name)] = int(fields[1])
    return found


def descendants(root: int) -> set[int]:
    tree = parents()
    found: set[int] = set()
    frontier = {root}
    while frontier:
        frontier = {pid for pid, parent in tree.items() if parent in frontier} - found
        found |= frontier
    return found


def alive(pid: int) -> bool:
    """Running, as opposed to gone or a zombie waiting to be reaped."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def pss_mib(pid: int) -> float:
    """Proportional set size: shared pages counted once across the processes sharing them."""
    try:
        rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return 0.0
    match = re.search(r"^Pss:\s+(\d+) kB", rollup, re.MULTILINE)
    return int(match.group(1)) / 1024 if match else 0.0


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> float:
    """Seconds until `condition()` holds."""
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < timeout, f"no {what} within {timeout} s"
        time.sleep(0.1)
    return time.monotonic() - started
