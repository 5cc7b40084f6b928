"""When a running job's runner is gone: the rule, with the host and the processes passed in,
and the facts it reads from this machine."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from vocalis.batch.owner import Identity, Owner, abandoned, process_identity, this_process

HERE = Owner("node-1", 4242, "777")
NOW = 1_000_000.0


def processes(**running: str) -> Identity:
    """A stand-in for /proc: pid -> start time of the processes that exist."""
    return lambda pid: running.get(str(pid))


@pytest.mark.parametrize(
    ("owner", "heartbeat_age", "alive", "expected"),
    [
        (HERE, 5.0, {"4242": "777"}, False),  # its process runs: leave the job to it
        (HERE, 5.0, {}, True),  # its process exited (a SIGKILL, a crash)
        (HERE, 5.0, {"4242": "999"}, True),  # the pid was reused: a restarted container
        (HERE, 61.0, {"4242": "777"}, True),  # alive but stuck: no heartbeat for a minute
        (Owner("node-2", 4242, "777"), 5.0, {}, False),  # another host, still beating
        (Owner("node-2", 4242, "777"), 61.0, {}, True),  # another host, silent
        (None, 5.0, {}, True),  # written before jobs had owners
    ],
)
def test_a_job_is_abandoned_when_its_runner_is_gone(
    owner: Owner | None, heartbeat_age: float, alive: dict[str, str], expected: bool
) -> None:
    identity = processes(**alive)
    assert abandoned(owner, NOW - heartbeat_age, NOW, 60.0, "node-1", identity) is expected


def test_no_heartbeat_means_abandoned() -> None:
    assert abandoned(HERE, None, NOW, 60.0, "node-1", processes(**{"4242": "777"}))


def test_an_owner_round_trips_through_its_text() -> None:
    assert Owner.parse(str(HERE)) == HERE
    assert Owner.parse(str(Owner("mac", 12, ""))) == Owner("mac", 12, "")
    assert Owner.parse(None) is None
    assert Owner.parse("garbage") is None


def test_this_process_and_a_finished_one() -> None:
    me = this_process()
    assert me.pid == os.getpid() and me.started == process_identity(os.getpid())
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    started = process_identity(child.pid)
    child.wait()
    assert started and started != me.started
    assert process_identity(child.pid) is None
