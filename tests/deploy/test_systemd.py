"""The systemd unit: rendered from facts, checked by systemd's own verifier."""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path, PurePosixPath

import pytest

from tests.conftest import ROOT
from tests.deploy.tools import assert_clean, run
from vocalis.config import Settings
from vocalis.deploy import systemd

TEMPLATE = ROOT / "deploy" / "systemd"
OPT = PurePosixPath("/opt/vocalis/venv/bin/vocalis")


def this_venv() -> PurePosixPath:
    return PurePosixPath(Path(sys.executable).parent / "vocalis")


def keys(unit: str, key: str) -> list[str]:
    prefix = f"{key}="
    return [line[len(prefix) :] for line in unit.splitlines() if line.startswith(prefix)]


def value(unit: str, key: str) -> str:
    (found,) = keys(unit, key)
    return found


def systemd_analyze() -> str:
    found = shutil.which("systemd-analyze")
    if found is None:
        pytest.fail(
            "systemd-analyze is not installed; install it with: apt-get install systemd "
            "(make system-packages does)",
            pytrace=False,
        )
    return found


def verify(unit: str, tmp_path: Path) -> None:
    path = tmp_path / systemd.UNIT_NAME
    path.write_text(unit)
    # verify exits 0 on unknown keys and bad values and only warns: any output fails.
    assert_clean(run(systemd_analyze(), "verify", str(path)))


def test_the_unit_for_this_virtualenv_verifies(tmp_path: Path) -> None:
    # verify checks that ExecStart's program exists, so it runs on this install's own unit.
    verify(systemd.render(systemd.Install(this_venv())), tmp_path)


def test_the_verifier_catches_a_mistake(tmp_path: Path) -> None:
    unit = systemd.render(systemd.Install(this_venv())).replace("TimeoutStopSec=45", "Timeout=45")
    path = tmp_path / systemd.UNIT_NAME
    path.write_text(unit)
    result = run(systemd_analyze(), "verify", str(path))
    assert "Unknown key" in result.stderr


def test_the_template_is_the_rendered_unit_for_opt() -> None:
    # The file in deploy/ is what `vocalis service --print` writes for /opt/vocalis/venv; the
    # program does not exist here, so it is verified through its equality with the renderer.
    assert (TEMPLATE / "vocalis.service").read_text() == systemd.render(systemd.Install(OPT))


def test_stop_timeout_outlasts_the_drain() -> None:
    unit = systemd.render(systemd.Install(OPT, grace=Settings().shutdown_grace))
    assert value(unit, "TimeoutStopSec") == "45"
    assert value(unit, "KillSignal") == "SIGTERM"
    assert "Environment=VOCALIS_SHUTDOWN_GRACE=30" in unit.splitlines()
    assert systemd.stop_timeout(120.5) == 136


def test_serve_runs_from_the_virtualenv_and_restarts_on_failure() -> None:
    unit = systemd.render(systemd.Install(OPT))
    assert value(unit, "ExecStart") == f"{OPT} serve"
    assert value(unit, "Restart") == "on-failure"
    assert keys(unit, "ExecStartPre") == [
        f"{OPT} models pull whisper-base whisper-tiny.en piper-en_US-joe-medium",
        f"-/usr/bin/timeout 300 {OPT} models pull kokoro",
    ]
    assert value(unit, "EnvironmentFile") == "-/etc/vocalis/vocalis.env"


def test_hardening_and_writable_directories() -> None:
    unit = systemd.render(systemd.Install(OPT))
    for key, expected in [
        ("NoNewPrivileges", "yes"),
        ("ProtectSystem", "strict"),
        ("ProtectHome", "yes"),
        ("PrivateTmp", "yes"),
        ("DynamicUser", "yes"),
        ("StateDirectory", "vocalis vocalis/models vocalis/data"),
        ("ReadWritePaths", "-/var/lib/vocalis/models -/var/lib/vocalis/data"),
    ]:
        assert value(unit, key) == expected, key
    assert "MemoryDenyWriteExecute" not in unit  # CTranslate2 generates code at run time


def test_a_named_user_and_directories_elsewhere() -> None:
    install = systemd.Install(
        PurePosixPath("/home/ana/vocalis/.venv/bin/vocalis"),
        models_dir=PurePosixPath("/srv/models"),
        data_dir=PurePosixPath("/var/lib/vocalis/jobs"),
        user="ana",
    )
    unit = systemd.render(install)
    assert value(unit, "User") == "ana"
    assert "DynamicUser" not in unit
    assert value(unit, "ProtectHome") == "read-only"  # the virtualenv is in a home
    assert value(unit, "StateDirectory") == "vocalis vocalis/jobs"
    assert value(unit, "ReadWritePaths") == "-/srv/models -/var/lib/vocalis/jobs"


def test_the_environment_file_decides_grace_and_directories() -> None:
    env = systemd.read_env_file(
        "# comment\n; another\n\nVOCALIS_SHUTDOWN_GRACE=90\n"
        'VOCALIS_MODELS_DIR="/srv/models"\nVOCALIS_HOST = 0.0.0.0\nnot a line\n'
    )
    assert env == {
        "VOCALIS_SHUTDOWN_GRACE": "90",
        "VOCALIS_MODELS_DIR": "/srv/models",
        "VOCALIS_HOST": "0.0.0.0",
    }
    install = systemd.install_for(OPT, env, grace=30)
    assert (install.grace, install.models_dir) == (90, PurePosixPath("/srv/models"))
    assert install.data_dir == PurePosixPath("/var/lib/vocalis/data")
    assert value(systemd.render(install), "TimeoutStopSec") == "105"


def test_the_example_environment_file_holds_real_settings() -> None:
    text = (TEMPLATE / "vocalis.env").read_text()
    env = systemd.read_env_file(text)
    assert env, "the example sets nothing"
    fields = {f"VOCALIS_{name.upper()}" for name in Settings.model_fields}
    assert set(env) <= fields
    assert set(re.findall(r"^# (VOCALIS_\w+)=", text, re.MULTILINE)) <= fields
    Settings(**{k.removeprefix("VOCALIS_").lower(): v for k, v in env.items()})
