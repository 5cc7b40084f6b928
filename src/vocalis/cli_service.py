"""`vocalis service`: the systemd unit for this install, printed or put in place.

The unit runs the `vocalis` of the virtualenv this command runs from. Its settings come from
/etc/vocalis/vocalis.env when that file exists (the shutdown grace and the directories
decide parts of the unit), otherwise from the current settings.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path, PurePosixPath
from typing import Annotated

import typer
from rich.console import Console

from vocalis.config import Settings
from vocalis.deploy import systemd

err = Console(stderr=True)
NEXT_STEPS = ("systemctl daemon-reload", "systemctl enable --now vocalis")


def service(
    print_unit: Annotated[
        bool, typer.Option("--print", help="Write the unit to standard output.")
    ] = False,
    install: Annotated[
        bool, typer.Option("--install", help="Write the unit into the unit directory.")
    ] = False,
    unit_dir: Annotated[
        Path, typer.Option(help="Where --install writes vocalis.service.")
    ] = systemd.UNIT_DIR,
    user: Annotated[
        str | None,
        typer.Option(help="Run as this existing user instead of a dynamic one (DynamicUser)."),
    ] = None,
    env_file: Annotated[
        Path, typer.Option(help="The service's environment file, read if it exists.")
    ] = Path(str(systemd.ENV_FILE)),
) -> None:
    """The systemd unit for this install: `--print` it, or `--install` it."""
    if print_unit == install:
        raise typer.BadParameter("give one of --print or --install", param_hint="--print")
    unit = systemd.render(_install(env_file, user))
    if print_unit:
        sys.stdout.write(unit)
        return
    path = systemd.unit_path(unit_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(unit, encoding="utf-8")
    err.print(f"wrote {path}")
    _activate(unit_dir == systemd.UNIT_DIR)


def _install(env_file: Path, user: str | None) -> systemd.Install:
    executable = _executable()
    if user is None:
        _warn_if_hidden(executable)
    env = systemd.read_env_file(env_file.read_text()) if env_file.is_file() else {}
    try:
        return systemd.install_for(executable, env, Settings().shutdown_grace, user)
    except ValueError as exc:  # a grace in the file that is not a number
        raise typer.BadParameter(f"{env_file}: {exc}", param_hint="--env-file") from exc


def _executable() -> PurePosixPath:
    """This virtualenv's `vocalis`, next to the interpreter that runs this command."""
    beside = Path(sys.executable).parent / "vocalis"
    found = beside if beside.is_file() else shutil.which("vocalis")
    if not found:
        err.print("[red]error:[/red] no `vocalis` executable beside this Python or on PATH")
        raise typer.Exit(1)
    return PurePosixPath(Path(found).absolute())


def _warn_if_hidden(executable: PurePosixPath) -> None:
    """A dynamic user is nobody's owner: it needs every folder on the way open to others."""
    for path in (Path(executable), *Path(executable).parents):
        if not path.stat().st_mode & stat.S_IXOTH:
            err.print(
                f"[yellow]warning:[/yellow] {path} is closed to other users, so the service's "
                "dynamic user cannot run Vocalis: install it under /opt, or pass --user"
            )
            return


def _activate(system_dir: bool) -> None:
    """daemon-reload where systemd runs and we may; otherwise say what to run."""
    can_reload = system_dir and os.geteuid() == 0 and Path("/run/systemd/system").is_dir()
    if can_reload:
        subprocess.run(["systemctl", "daemon-reload"], check=True)
    steps = NEXT_STEPS[1:] if can_reload else NEXT_STEPS
    prefix = "" if os.geteuid() == 0 else "sudo "
    err.print("Then run:\n" + "\n".join(f"    {prefix}{step}" for step in steps))
