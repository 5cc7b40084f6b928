"""Who runs a job, and whether it still can: several servers (Ray Serve replicas) may share
one data dir, and a server starting up must requeue only the jobs whose runner is gone.

A running job records its owner (host, pid, and the process's start time, since pids are
reused: a restarted container is pid 1 again) and a heartbeat its runner renews. A job is
abandoned when its heartbeat is stale, or at once when its owner was on this host and that
process no longer exists.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

# The start time of a process, or None when there is no such process.
Identity = Callable[[int], str | None]


@dataclass(frozen=True)
class Owner:
    host: str
    pid: int
    # The process's start time as the kernel counts it; "" where it cannot be read.
    started: str

    def __str__(self) -> str:
        return f"{self.host} {self.pid} {self.started}".rstrip()

    @classmethod
    def parse(cls, text: str | None) -> Owner | None:
        parts = (text or "").split(" ")
        if len(parts) < 2 or not parts[1].isdigit():
            return None
        return cls(parts[0], int(parts[1]), parts[2] if len(parts) > 2 else "")


def this_process() -> Owner:
    pid = os.getpid()
    return Owner(socket.gethostname(), pid, process_identity(pid) or "")


def process_identity(pid: int) -> str | None:
    """The process's start time (Linux: field 22 of /proc/PID/stat); "" for a live process
    whose start cannot be read (no /proc), None when no process has this pid."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return None if Path("/proc/self/stat").exists() else _alive(pid)
    except OSError:
        return ""
    # The command name in parentheses may hold spaces: count the fields after it.
    fields = stat.rsplit(")", 1)[-1].split()
    return fields[19] if len(fields) > 19 else ""


def _alive(pid: int) -> str | None:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:  # another user's process: alive
        return ""
    return ""


def abandoned(
    owner: Owner | None,
    heartbeat_at: float | None,
    now: float,
    stale_seconds: float,
    host: str,
    identity: Identity = process_identity,
) -> bool:
    """Whether a running job's runner is gone, so that the job may run again elsewhere."""
    if owner is None or heartbeat_at is None:
        return True  # recorded before jobs had owners: by a server that has since stopped
    if now - heartbeat_at > stale_seconds:
        return True  # its runner stopped beating: dead, or on a host we cannot look into
    if owner.host != host:
        return False
    return identity(owner.pid) != owner.started
