"""The linters the deployment files are checked with, and a reader for the Dockerfile.

A missing linter fails its test with what to install; it never skips, so a machine without
one cannot pass the deployment checks by accident.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import ROOT

TEST_EXTRA = "pip install -e '.[test]' (make install-test)"


def tool(name: str, how: str = TEST_EXTRA) -> str:
    """The executable `name`: this virtualenv's (where the `test` extra puts it), or PATH's."""
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.is_file() else shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed; install it with: {how}", pytrace=False)
    return found


def run(*args: str, stdin: str | None = None, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, input=stdin, capture_output=True, text=True, timeout=300, cwd=cwd, check=False
    )


def assert_clean(result: subprocess.CompletedProcess[str]) -> None:
    """Exit status 0 and not a word said: warnings count as failures."""
    output = (result.stdout + result.stderr).strip()
    assert result.returncode == 0 and not output, f"exit {result.returncode}:\n{output}"


@dataclass
class Stage:
    """One stage of the Dockerfile: its base, its name, and its instructions in order."""

    base: str
    name: str
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [args for key, args in self.instructions if key == keyword]

    def env(self) -> dict[str, str]:
        values: dict[str, str] = {}
        for args in self.all("ENV"):
            for key, value in re.findall(r"(\w+)=('[^']*'|\S+)", args):
                values[key] = value.strip("'")
        return values


def instructions(text: str) -> list[tuple[str, str]]:
    """(KEYWORD, arguments) with continuation lines joined and comments dropped."""
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n\s*", " ", "\n".join(lines))
    result = []
    for line in joined.splitlines():
        if line.strip():
            keyword, _, args = line.strip().partition(" ")
            result.append((keyword.upper(), args.strip()))
    return result


def stages(text: str) -> dict[str, Stage]:
    found: dict[str, Stage] = {}
    current: Stage | None = None
    for keyword, args in instructions(text):
        if keyword == "FROM":
            base, _, name = args.partition(" AS ")
            current = found.setdefault(name.strip(), Stage(base.strip(), name.strip()))
        elif current is not None:
            current.instructions.append((keyword, args))
    return found


def global_args(text: str) -> dict[str, str]:
    """The ARGs before the first FROM, with their defaults."""
    values: dict[str, str] = {}
    for keyword, args in instructions(text):
        if keyword == "FROM":
            break
        name, _, default = args.partition("=")
        values[name] = default.strip('"')
    return values
