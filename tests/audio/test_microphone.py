"""The real microphone path without sound hardware: PortAudio records a PulseAudio virtual source.

A PulseAudio daemon of the test's own (its own socket and runtime directory, so it neither
sees nor disturbs a desktop's sound server) has a null sink, `vocalis_sink`, whose monitor
is remapped to a source, `vocalis_mic`, the default source. `paplay` into the sink is what
the microphone hears. PortAudio reaches PulseAudio through ALSA's pulse plugin.
"""

from __future__ import annotations

import ctypes.util
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import EVAL_DIR, installed_model, references, rms, wer
from vocalis.audio.capture import list_devices, microphone
from vocalis.stt.base import TranscriptionOptions

JFK = EVAL_DIR / "jfk.wav"
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


@pytest.fixture(scope="module")
def virtual_microphone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VirtualMicrophone]:
    require_audio_stack()
    mic = start_pulseaudio(tmp_path_factory.mktemp("pulse"))
    with pytest.MonkeyPatch.context() as patch:
        # This process's PortAudio (through ALSA's pulse plugin) talks to this daemon only.
        patch.setenv("PULSE_SERVER", mic.server)
        restart_portaudio()
        try:
            yield mic
        finally:
            stop(mic)


def test_audio_stack_is_installed() -> None:
    require_audio_stack()


def test_lists_the_virtual_device(virtual_microphone: VirtualMicrophone) -> None:
    sources = virtual_microphone.pactl("list", "short", "sources").stdout
    assert SOURCE in sources, sources
    names = [device.name for device in list_devices()]
    assert "pulse" in names and "default" in names, names


def record_while_playing(mic: VirtualMicrophone, clip: Path) -> tuple[np.ndarray, np.ndarray]:
    """(what the microphone heard before playback, the whole recording) at 16 kHz."""
    with microphone(None, block_ms=100) as source:
        assert source.device_rate == 16_000  # the pulse plugin resamples for PortAudio
        before = next(source)  # the first callback came: the stream runs
        player = subprocess.Popen(["paplay", f"--device={SINK}", str(clip)], env=mic.env)
        heard = [before]
        deadline = time.monotonic() + 60
        while player.poll() is None:
            assert time.monotonic() < deadline, "paplay did not finish"
            heard.append(next(source))
        tail = time.monotonic() + 0.5  # what PulseAudio still buffers
        while time.monotonic() < tail:
            heard.append(next(source))
    assert player.returncode == 0
    return before, np.concatenate(heard)


def test_records_speech_through_the_microphone(virtual_microphone: VirtualMicrophone) -> None:
    from vocalis.stt.faster_whisper import FasterWhisperTranscriber

    before, recorded = record_while_playing(virtual_microphone, JFK)
    assert recorded.dtype == np.float32 and recorded.ndim == 1
    assert len(recorded) / 16_000 >= 11.0  # the whole clip
    assert rms(before) < 0.001  # a null sink with nothing playing is silent
    assert rms(recorded) > 0.05, rms(recorded)  # JFK's speech is about 0.1
    transcriber = FasterWhisperTranscriber(installed_model("whisper-base"), cpu_threads=2)
    result = transcriber.transcribe(recorded, TranscriptionOptions(language="en"))
    text = "".join(segment.text for segment in result.segments)
    assert wer(references()[JFK.name][1], text) <= 0.15, text
