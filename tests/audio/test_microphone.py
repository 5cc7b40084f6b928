"""The real microphone path without sound hardware: PortAudio records a PulseAudio virtual source.

A PulseAudio daemon of the test's own (its own socket and runtime directory, so it neither
sees nor disturbs a desktop's sound server) has a null sink, `vocalis_sink`, whose monitor
is remapped to a source, `vocalis_mic`, the default source. `paplay` into the sink is what
the microphone hears. PortAudio reaches PulseAudio through ALSA's pulse plugin.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import EVAL_DIR, installed_model, references, rms, wer
from tests.virtual_microphone import (
    SINK,
    SOURCE,
    VirtualMicrophone,
    require_audio_stack,
    restart_portaudio,
    start_pulseaudio,
    stop,
)
from vocalis.audio.capture import list_devices, microphone
from vocalis.stt.base import TranscriptionOptions

JFK = EVAL_DIR / "jfk.wav"


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
