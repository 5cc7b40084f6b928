"""`vocalis service`, run as an operator runs it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.deploy.test_systemd import keys, this_venv, value, verify


def vocalis(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "vocalis", "service", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_print_writes_the_unit_of_this_virtualenv(tmp_path: Path) -> None:
    result = vocalis("--print", "--env-file", str(tmp_path / "none.env"))
    assert result.returncode == 0, result.stderr
    assert value(result.stdout, "ExecStart") == f"{this_venv()} serve"
    verify(result.stdout, tmp_path)


def test_install_writes_the_unit_and_says_what_to_run(tmp_path: Path) -> None:
    env = tmp_path / "vocalis.env"
    env.write_text("VOCALIS_SHUTDOWN_GRACE=60\nVOCALIS_DATA_DIR=/srv/vocalis-jobs\n")
    units = tmp_path / "units"
    result = vocalis("--install", "--unit-dir", str(units), "--env-file", str(env))
    assert result.returncode == 0, result.stderr
    unit = (units / "vocalis.service").read_text()
    assert value(unit, "TimeoutStopSec") == "75"
    assert "-/srv/vocalis-jobs" in value(unit, "ReadWritePaths")
    assert keys(unit, "Environment")[2] == "VOCALIS_SHUTDOWN_GRACE=60"
    # Not the system's unit directory: nothing to reload, both commands to run.
    assert "systemctl daemon-reload" in result.stderr
    assert "systemctl enable --now vocalis" in result.stderr


def test_one_of_print_or_install() -> None:
    for args in ((), ("--print", "--install")):
        result = vocalis(*args)
        assert result.returncode == 2
        assert "give one of --print or --install" in result.stderr


def test_a_grace_that_is_not_a_number(tmp_path: Path) -> None:
    env = tmp_path / "vocalis.env"
    env.write_text("VOCALIS_SHUTDOWN_GRACE=soon\n")
    result = vocalis("--print", "--env-file", str(env))
    assert result.returncode == 2
    assert "vocalis.env" in result.stderr
