"""A PulseAudio virtual microphone for tests, without sound hardware.

A daemon of the test's own (its own socket and runtime directory, so it neither sees nor
disturbs a desktop's sound server) has a null sink, `vocalis_sink`, whose monitor is
remapped to a source, `vocalis_mic`, the default source. `paplay` into the sink is what the
microphone hears. PortAudio reaches PulseAudio through ALSA's pulse plugin.
"""

from __future__ import annotations

import ctypes.util
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

SINK, SOURCE = "vocalis_sink", "vocalis_mic"
INSTALL = (
    "The microphone test needs PortAudio and PulseAudio. Debian/Ubuntu: "
    "`sudo apt-get install libportaudio2 pulseaudio pulseaudio-utils` (`make test` runs "
    "scripts/system-packages.sh, which installs them itself when run as root); Fedora: "
    "`sudo dnf install portaudio pulseaudio pulseaudio-utils`; macOS: "
    "`brew install portaudio pulseaudio`."
)


def missing_parts() -> list[str]:
    tools = [tool for tool in ("pulseaudio", "pactl", "paplay") if not shutil.which(tool)]
    library = [] if ctypes.util.find_library("portaudio") else ["the PortAudio library"]
    return tools + library


def require_audio_stack() -> None:
    if missing := missing_parts():
        pytest.fail(f"Missing: {', '.join(missing)}. {INSTALL}", pytrace=False)


@dataclass
class VirtualMicrophone:
    server: str  # what PULSE_SERVER says for this daemon
    env: dict[str, str]
    process: subprocess.Popen[bytes]
    log: Path

    def pactl(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["pactl", *args], env=self.env, capture_output=True, text=True, timeout=10
        )


def start_pulseaudio(folder: Path) -> VirtualMicrophone:
    runtime = folder / "run"
    runtime.mkdir(mode=0o700)
    socket = folder / "native"
    env = {
        **os.environ,
        # Its own home and runtime dir: cookie, config and pid file stay in the test's folder.
        "HOME": str(folder),
        "XDG_RUNTIME_DIR": str(runtime),
        "XDG_CONFIG_HOME": str(folder / "config"),
        "PULSE_RUNTIME_PATH": str(runtime / "pulse"),
        "PULSE_SERVER": f"unix:{socket}",
    }
    log = folder / "pulseaudio.log"
    command = [
        "pulseaudio",
        "--daemonize=no",
        "--exit-idle-time=-1",
        "--use-pid-file=no",
        "-n",  # no default.pa: only the modules below, no hardware probing
        f"--load=module-native-protocol-unix socket={socket} auth-anonymous=1",
        f"--load=module-null-sink sink_name={SINK}",
        f"--load=module-remap-source master={SINK}.monitor source_name={SOURCE}",
        "--log-target=stderr",
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    mic = VirtualMicrophone(f"unix:{socket}", env, process, log)
    _wait_ready(mic)
    return mic


def _wait_ready(mic: VirtualMicrophone) -> None:
    deadline = time.monotonic() + 15
    while mic.pactl("info").returncode != 0:
        if mic.process.poll() is not None or time.monotonic() > deadline:
            stop(mic)
            pytest.fail(f"PulseAudio did not start:\n{mic.log.read_text()}", pytrace=False)
        time.sleep(0.1)
    assert mic.pactl("set-default-source", SOURCE).returncode == 0


def stop(mic: VirtualMicrophone) -> None:
    """Stops the daemon this test started, by its process, and nothing else."""
    mic.process.terminate()
    try:
        mic.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        mic.process.kill()
        mic.process.wait()


def restart_portaudio() -> None:
    """PortAudio lists devices (and ALSA reads its config) once; again now PulseAudio runs."""
    sd = sys.modules.get("sounddevice")
    if sd is not None:
        sd._terminate()
        sd._initialize()
