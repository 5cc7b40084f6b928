"""Audio sources: file pacing and blocks, device choice, the microphone over a fake PortAudio."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import numpy as np
import pytest

from tests.conftest import EVAL_DIR
from vocalis.audio import capture, decode
from vocalis.audio.capture import (
    PORTAUDIO_INSTALL,
    InputDevice,
    MicrophoneError,
    StreamResampler,
    blocks,
    find_device,
    input_devices,
    load_sounddevice,
    play_file,
    stream_settings,
)
from vocalis.audio.encode import encode
from vocalis.errors import InvalidAudio

LAMP = EVAL_DIR / "turn_on_the_living_room_lamp.wav"  # 44.1 kHz stereo, 3 s


def tone(seconds: float, rate: int = 16_000, hz: float = 440.0) -> np.ndarray:
    t = np.arange(round(seconds * rate)) / rate
    return (0.3 * np.sin(2 * np.pi * hz * t)).astype(np.float32)


@pytest.fixture
def two_seconds(tmp_path: Path) -> Path:
    path = tmp_path / "two.wav"
    path.write_bytes(encode(tone(2.0), 16_000, "wav"))
    return path


# --- play_file --------------------------------------------------------------------------


def test_play_file_keeps_real_time(two_seconds: Path) -> None:
    started = time.monotonic()
    stamps = [time.monotonic() - started for _ in play_file(two_seconds, block_ms=100)]
    elapsed = time.monotonic() - started
    assert len(stamps) == 20
    # Block i leaves at i * 100 ms: the last at 1.9 s, so the whole file takes about 2 s.
    for i, stamp in enumerate(stamps):
        assert i * 0.1 - 0.005 <= stamp <= i * 0.1 + 0.08, (i, stamp)
    assert 1.85 <= elapsed <= 2.1


def test_play_file_as_fast_as_possible(two_seconds: Path) -> None:
    started = time.monotonic()
    played = list(play_file(two_seconds, realtime=False, block_ms=100))
    assert time.monotonic() - started < 0.5
    assert [len(b) for b in played] == [1600] * 20


def test_blocks_sum_to_the_decoded_audio() -> None:
    with LAMP.open("rb") as f:
        whole = decode.decode(f, max_seconds=60)
    played = list(play_file(LAMP, realtime=False, block_ms=30))
    assert all(b.dtype == np.float32 and b.ndim == 1 for b in played)
    assert all(len(b) == 480 for b in played[:-1]) and 0 < len(played[-1]) <= 480
    assert np.array_equal(np.concatenate(played), whole)
    assert sum(len(b) for b in played) / 16_000 == pytest.approx(3.0, abs=0.05)


def test_play_file_refuses_at_once(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        play_file(tmp_path / "missing.wav")
    text = tmp_path / "notes.txt"
    text.write_text("not audio\n" * 100)
    with pytest.raises(InvalidAudio):
        play_file(text)


def test_blocks_regroup_any_pieces() -> None:
    pieces = [np.arange(n, dtype=np.float32) for n in (3, 0, 7, 1, 10)]
    out = list(blocks(pieces, 4))
    assert [len(b) for b in out] == [4, 4, 4, 4, 4, 1]
    assert np.array_equal(np.concatenate(out), np.concatenate(pieces))
    assert list(blocks([], 4)) == []


# --- PortAudio missing --------------------------------------------------------------------


def raising(exc: Exception) -> Any:
    def importer(name: str) -> ModuleType:
        raise exc

    return importer


def test_missing_portaudio_says_what_to_install() -> None:
    with pytest.raises(MicrophoneError) as caught:
        load_sounddevice(raising(OSError("PortAudio library not found")))
    message = caught.value.message
    assert message.startswith("Recording needs the PortAudio library, which was not found")
    assert message.endswith(PORTAUDIO_INSTALL)
    for hint in ("apt install libportaudio2", "dnf install portaudio", "brew install portaudio"):
        assert hint in message


def test_missing_sounddevice_package() -> None:
    with pytest.raises(MicrophoneError, match="pip install sounddevice"):
        load_sounddevice(raising(ImportError("No module named 'sounddevice'")))


def test_list_devices_without_portaudio(monkeypatch: pytest.MonkeyPatch) -> None:
    failing = SimpleNamespace(import_module=raising(OSError("PortAudio library not found")))
    monkeypatch.setattr(capture, "importlib", failing)
    with pytest.raises(MicrophoneError, match="libportaudio2"):
        capture.list_devices()
    with pytest.raises(MicrophoneError, match="libportaudio2"):
        capture.microphone()


# --- Choosing the device (pure) -------------------------------------------------------------

QUERY = [
    {"index": 0, "name": "HDA Intel PCH: ALC3246 Analog (hw:0,0)", "hostapi": 0,
     "max_input_channels": 2, "max_output_channels": 2, "default_samplerate": 44100.0},
    {"index": 1, "name": "HDMI 0", "hostapi": 0,
     "max_input_channels": 0, "max_output_channels": 8, "default_samplerate": 48000.0},
    {"index": 2, "name": "pulse", "hostapi": 0,
     "max_input_channels": 32, "max_output_channels": 32, "default_samplerate": 44100.0},
    {"index": 3, "name": "default", "hostapi": 0,
     "max_input_channels": 32, "max_output_channels": 32, "default_samplerate": 44100.0},
]  # fmt: skip
DEVICES = input_devices(QUERY, ["ALSA"])


def test_input_devices_only() -> None:
    assert [d.index for d in DEVICES] == [0, 2, 3]
    assert DEVICES[0] == InputDevice(0, QUERY[0]["name"], 2, 44_100, "ALSA")


@pytest.mark.parametrize(
    ("wanted", "default", "index"),
    [(None, 3, 3), (None, -1, 0), (2, 3, 2), ("2", 3, 2), ("PULSE", 3, 2), ("alc3246", 3, 0)],
)
def test_find_device(wanted: int | str | None, default: int, index: int) -> None:
    assert find_device(DEVICES, wanted, default).index == index


def test_find_device_refuses() -> None:
    with pytest.raises(MicrophoneError, match=r"No input device matches 1\. Input devices: 0: "):
        find_device(DEVICES, 1)
    with pytest.raises(MicrophoneError, match="Several input devices match 'a'"):
        find_device(DEVICES, "a")
    with pytest.raises(MicrophoneError, match="No audio input device found"):
        find_device([], None)


def test_stream_settings_prefer_the_wanted_rate_in_mono() -> None:
    device = DEVICES[0]
    assert stream_settings(device, 16_000, lambda r, c: True) == (16_000, 1)
    assert stream_settings(device, 16_000, lambda r, c: r == 44_100) == (44_100, 1)
    assert stream_settings(device, 16_000, lambda r, c: (r, c) == (44_100, 2)) == (44_100, 2)
    with pytest.raises(MicrophoneError, match="takes neither 16000 Hz nor its own 44100 Hz"):
        stream_settings(device, 16_000, lambda r, c: False)


# --- The microphone, over a fake PortAudio ----------------------------------------------------


class FakePortAudioError(Exception):
    pass


class FakeStream:
    """Calls the callback from its own thread with the blocks given, then stops."""

    def __init__(self, chunks: list[np.ndarray], **settings: Any):
        self.chunks = chunks
        self.settings = settings
        self.active = False
        self.closed = False
        self._thread = threading.Thread(target=self._run)

    def start(self) -> None:
        self.active = True
        self._thread.start()

    def _run(self) -> None:
        for chunk in self.chunks:
            self.settings["callback"](chunk, len(chunk), None, None)
        self.active = False

    def close(self) -> None:
        self._thread.join()
        self.closed = True


def fake_sounddevice(chunks: list[np.ndarray], takes: set[tuple[int, int]]) -> Any:
    """A PortAudio whose devices open only with the (rate, channels) in `takes`."""
    streams: list[FakeStream] = []

    def check(device: int, channels: int, dtype: str, samplerate: int) -> None:
        if (samplerate, channels) not in takes:
            raise FakePortAudioError("Invalid sample rate")

    def open_stream(**settings: Any) -> FakeStream:
        streams.append(FakeStream(chunks, **settings))
        return streams[-1]

    return SimpleNamespace(
        query_devices=lambda: QUERY,
        query_hostapis=lambda: [{"name": "ALSA"}],
        default=SimpleNamespace(device=[3, 3]),
        check_input_settings=check,
        InputStream=open_stream,
        PortAudioError=FakePortAudioError,
        streams=streams,
    )


def test_microphone_downmixes_and_resamples(monkeypatch: pytest.MonkeyPatch) -> None:
    stereo = np.stack([tone(1.0, 44_100), np.zeros(44_100, np.float32)], axis=1)
    sd = fake_sounddevice(np.split(stereo, 10), {(44_100, 2)})  # a sound card's own way only
    monkeypatch.setattr(capture, "load_sounddevice", lambda: sd)
    with capture.microphone(block_ms=100) as mic:
        assert (mic.device.name, mic.device_rate, mic.channels) == ("default", 44_100, 2)
        assert sd.streams[0].settings["blocksize"] == 4410
        got = list(mic)
    assert sd.streams[0].closed
    audio = np.concatenate(got)
    assert all(b.dtype == np.float32 and b.ndim == 1 for b in got)
    assert abs(len(audio) - 16_000) < 100  # the resampler keeps a few samples back
    # Left and right averaged: half the left channel's level.
    assert np.sqrt(np.mean(audio[200:-200] ** 2)) == pytest.approx(0.15 / np.sqrt(2), rel=0.02)


def test_microphone_at_the_wanted_rate_is_untouched(monkeypatch: pytest.MonkeyPatch) -> None:
    chunks = np.split(tone(0.5)[:, None], 5)
    monkeypatch.setattr(
        capture, "load_sounddevice", lambda: fake_sounddevice(chunks, {(16_000, 1)})
    )
    with capture.microphone("pulse") as mic:
        assert (mic.device.index, mic.device_rate) == (2, 16_000)
        assert np.array_equal(np.concatenate(list(mic)), tone(0.5))


def test_a_slow_consumer_loses_the_newest_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    chunks = [np.zeros((1600, 1), np.float32)] * 120  # 12 s; the queue holds 10 s
    monkeypatch.setattr(
        capture, "load_sounddevice", lambda: fake_sounddevice(chunks, {(16_000, 1)})
    )
    with capture.microphone(block_ms=100) as mic:
        while mic._stream.active:
            time.sleep(0.01)
        assert (len(list(mic)), mic.dropped) == (100, 20)


def test_a_silent_device_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    sd = fake_sounddevice([], {(16_000, 1)})
    monkeypatch.setattr(capture, "load_sounddevice", lambda: sd)
    mic = capture.microphone()
    mic.timeout = 0.1
    with mic:
        sd.streams[0].active = True  # running, yet no callback comes
        with pytest.raises(MicrophoneError, match=r"'default' sent no audio for 0\.1 s"):
            next(mic)


def test_stream_resampler_matches_whole_file_resampling() -> None:
    audio = tone(1.0, 44_100)
    resampler = StreamResampler(44_100, 16_000)
    pieces = [resampler.resample(piece) for piece in np.array_split(audio, 13)]
    streamed = np.concatenate(pieces)
    assert abs(len(streamed) - 16_000) < 100
    expected = tone(1.0)[: len(streamed)]
    delay = int(np.argmax(np.correlate(streamed[:2000], expected[:2000], "full"))) - 1999
    assert abs(delay) < 40
