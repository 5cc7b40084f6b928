"""Where live audio comes from: a microphone through PortAudio, or a file played in real time.

Both sources give float32 mono blocks at 16 kHz (by default), block after block as a live
session takes them. `microphone()` records in PortAudio's thread; its callback only copies
each block into a queue, and the consumer's thread downmixes and resamples. It is a
synchronous iterator: an async consumer drives it with starlette's `iterate_in_threadpool`
or `asyncio.to_thread`. `sounddevice` (and with it PortAudio) is imported only when a
microphone is used, so the rest of Vocalis works on machines without it.
"""

from __future__ import annotations

import contextlib
import importlib
import queue
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType, TracebackType
from typing import Any, BinaryIO

import numpy as np
import numpy.typing as npt

from vocalis.audio import decode
from vocalis.audio.decode import SAMPLE_RATE, RawPcm, Samples
from vocalis.audio.resample import StreamResampler
from vocalis.errors import VocalisError

BLOCK_MS = 100
# Blocks kept for a consumer that falls behind; beyond this the newest are dropped.
QUEUE_SECONDS = 10.0
# A device that sends nothing for this long is taken to be dead.
SILENT_DEVICE_SECONDS = 5.0
# How often a waiting consumer checks that the stream still runs.
POLL_SECONDS = 0.05
# play_file refuses files longer than this unless told otherwise.
MAX_FILE_SECONDS = 24 * 3600.0

PORTAUDIO_INSTALL = (
    "Install it: Debian/Ubuntu `sudo apt install libportaudio2`, "
    "Fedora `sudo dnf install portaudio`, macOS `brew install portaudio`."
)
NO_INPUT_DEVICE = (
    "No audio input device found. Connect a microphone and check that this user may "
    "record (on Linux: the `audio` group; `arecord -l` and `pactl list short sources` "
    "list what the system sees). PortAudio reaches PulseAudio and PipeWire through ALSA's "
    "pulse plugin (Debian/Ubuntu: libasound2-plugins). Without sound hardware, a "
    "PulseAudio null sink with a remapped source makes a virtual microphone."
)


class MicrophoneError(VocalisError):
    """Recording is impossible: PortAudio is missing, no input device, or it failed."""

    code = "microphone_unavailable"


@dataclass(frozen=True)
class InputDevice:
    index: int
    name: str
    channels: int
    default_rate: int
    host_api: str = ""


# --- Finding the device (pure) ---------------------------------------------------------


def input_devices(
    devices: Iterable[Mapping[str, Any]], host_apis: Sequence[str] = ()
) -> list[InputDevice]:
    """The devices that can record, from sounddevice's `query_devices()`."""
    return [
        InputDevice(
            index=int(d["index"]),
            name=str(d["name"]),
            channels=int(d["max_input_channels"]),
            default_rate=round(float(d["default_samplerate"])),
            host_api=_host_api(host_apis, d.get("hostapi")),
        )
        for d in devices
        if d["max_input_channels"] > 0
    ]


def _host_api(host_apis: Sequence[str], index: Any) -> str:
    return host_apis[index] if isinstance(index, int) and 0 <= index < len(host_apis) else ""


def find_device(
    devices: Sequence[InputDevice], wanted: int | str | None, default: int = -1
) -> InputDevice:
    """The device asked for: an index, a name (exact, else a unique part), or the default."""
    if not devices:
        raise MicrophoneError(NO_INPUT_DEVICE)
    if wanted is None:
        return next((d for d in devices if d.index == default), devices[0])
    if isinstance(wanted, str) and wanted.strip().isdigit():
        wanted = int(wanted)
    matches = _matches(devices, wanted)
    if len(matches) == 1:
        return matches[0]
    listing = "; ".join(f"{d.index}: {d.name}" for d in devices)
    found = "Several input devices match" if matches else "No input device matches"
    raise MicrophoneError(f"{found} {wanted!r}. Input devices: {listing}.")


def _matches(devices: Sequence[InputDevice], wanted: int | str) -> list[InputDevice]:
    if isinstance(wanted, int):
        return [d for d in devices if d.index == wanted]
    name = wanted.strip().lower()
    exact = [d for d in devices if d.name.lower() == name]
    return exact or [d for d in devices if name in d.name.lower()]


def stream_settings(
    device: InputDevice, rate: int, supported: Callable[[int, int], bool]
) -> tuple[int, int]:
    """(rate, channels) to open the device with, the wanted rate in mono first.

    Sound cards opened directly (ALSA hw) often take only their own rate, or only stereo:
    then the blocks are downmixed and resampled after recording.
    """
    stereo = min(2, device.channels)
    candidates = [
        (rate, 1),
        (device.default_rate, 1),
        (rate, stereo),
        (device.default_rate, stereo),
    ]
    for candidate in dict.fromkeys(candidates):
        if supported(*candidate):
            return candidate
    raise MicrophoneError(
        f"The input device '{device.name}' takes neither {rate} Hz nor its own "
        f"{device.default_rate} Hz, in mono or stereo."
    )


# --- PortAudio --------------------------------------------------------------------------


def load_sounddevice(importer: Callable[[str], ModuleType] | None = None) -> ModuleType:
    """The sounddevice module, or a MicrophoneError that says what to install."""
    try:
        return (importer or importlib.import_module)("sounddevice")
    except OSError as exc:  # sounddevice loads the PortAudio library when imported
        raise MicrophoneError(
            f"Recording needs the PortAudio library, which was not found ({exc}). "
            f"{PORTAUDIO_INSTALL}"
        ) from exc
    except ImportError as exc:
        raise MicrophoneError(
            "Recording needs the Python package sounddevice: pip install sounddevice."
        ) from exc


def list_devices() -> list[InputDevice]:
    """The input devices PortAudio sees, in its order."""
    sd = load_sounddevice()
    host_apis = [str(api["name"]) for api in sd.query_hostapis()]
    return input_devices(sd.query_devices(), host_apis)


def microphone(
    device: int | str | None = None, rate: int = SAMPLE_RATE, block_ms: int = BLOCK_MS
) -> Microphone:
    """A microphone, not yet recording: `with microphone() as mic: for block in mic: ...`.

    `device` is an index or (part of) a name from `list_devices()`; None is the default.
    Blocks are float32 mono at `rate`, about `block_ms` long.
    """
    sd = load_sounddevice()
    host_apis = [str(api["name"]) for api in sd.query_hostapis()]
    chosen = find_device(input_devices(sd.query_devices(), host_apis), device, _default(sd))
    opened = stream_settings(chosen, rate, lambda r, c: _supported(sd, chosen, r, c))
    return Microphone(sd, chosen, rate, block_ms, *opened)


def _default(sd: ModuleType) -> int:
    index = sd.default.device[0]
    return int(index) if index is not None else -1


def _supported(sd: ModuleType, device: InputDevice, rate: int, channels: int) -> bool:
    try:
        sd.check_input_settings(
            device=device.index, channels=channels, dtype="float32", samplerate=rate
        )
    except (sd.PortAudioError, ValueError):
        return False
    return True


class Microphone:
    """Blocks from one input device, recorded in PortAudio's thread, handed over by a queue.

    Iterating blocks until the next block arrives; it ends when the stream stops (the
    device went away) and raises MicrophoneError when a running device sends nothing for
    `timeout` seconds. `dropped` counts blocks lost to a consumer that fell behind.
    """

    def __init__(
        self,
        sd: ModuleType,
        device: InputDevice,
        rate: int,
        block_ms: int,
        device_rate: int,
        channels: int,
        timeout: float = SILENT_DEVICE_SECONDS,
    ):
        self.device = device
        self.rate = rate
        self.device_rate = device_rate
        self.channels = channels
        self.timeout = timeout
        self.dropped = 0
        self.overflows = 0
        self._sd = sd
        self._blocksize = max(1, device_rate * block_ms // 1000)
        self._queue: queue.Queue[npt.NDArray[np.float32]] = queue.Queue(
            maxsize=max(1, round(QUEUE_SECONDS * 1000 / block_ms))
        )
        self._resampler = StreamResampler(device_rate, rate) if device_rate != rate else None
        self._stream: Any = None

    def __enter__(self) -> Microphone:
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def start(self) -> None:
        try:
            self._stream = self._sd.InputStream(
                device=self.device.index,
                samplerate=self.device_rate,
                channels=self.channels,
                dtype="float32",
                blocksize=self._blocksize,
                callback=self._callback,
            )
            self._stream.start()
        except self._sd.PortAudioError as exc:
            self.close()
            raise MicrophoneError(f"Could not record from '{self.device.name}': {exc}") from exc

    def close(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            stream.close()

    def __iter__(self) -> Iterator[Samples]:
        return self

    def __next__(self) -> Samples:
        while True:
            block = self._convert(self._take())
            if len(block):
                return block

    def _take(self) -> npt.NDArray[np.float32]:
        deadline = time.monotonic() + self.timeout
        while True:
            with contextlib.suppress(queue.Empty):
                return self._queue.get(timeout=POLL_SECONDS)
            if self._stream is None or not self._stream.active:
                return self._last()
            if time.monotonic() > deadline:
                raise MicrophoneError(
                    f"The input device '{self.device.name}' sent no audio for {self.timeout:g} s."
                )

    def _last(self) -> npt.NDArray[np.float32]:
        """A block that came just before the stream stopped, else the end."""
        try:
            return self._queue.get_nowait()
        except queue.Empty:
            raise StopIteration from None

    def _callback(
        self, indata: npt.NDArray[np.float32], frames: int, when: Any, status: Any
    ) -> None:
        """In PortAudio's thread: copy and hand over, nothing more."""
        if status and status.input_overflow:
            self.overflows += 1
        try:
            self._queue.put_nowait(indata.copy())
        except queue.Full:
            self.dropped += 1

    def _convert(self, block: npt.NDArray[np.float32]) -> Samples:
        mono: Samples = block.mean(axis=1, dtype=np.float32) if block.shape[1] > 1 else block[:, 0]
        return self._resampler.resample(mono) if self._resampler else mono


# --- Files ------------------------------------------------------------------------------


def play_file(
    path: str | Path,
    realtime: bool = True,
    block_ms: int = BLOCK_MS,
    *,
    rate: int = SAMPLE_RATE,
    raw: RawPcm | None = None,
    max_seconds: float = MAX_FILE_SECONDS,
) -> Iterator[Samples]:
    """Any audio file as blocks like a microphone's, at its pace or as fast as possible.

    Block i is handed over at t0 + i * block_ms: a consumer sees the file as if it were
    being said now. What can be checked up front (no such file, not audio) raises now.
    """
    file = Path(path).open("rb")  # noqa: SIM115 -- the generator closes it, or the except
    try:
        pieces = decode.stream(file, max_seconds=max_seconds, raw=raw, sample_rate=rate)
    except BaseException:
        file.close()
        raise
    size = max(1, rate * block_ms // 1000)
    return _paced(file, blocks(pieces, size), block_ms / 1000 if realtime else 0.0)


def _paced(file: BinaryIO, pieces: Iterator[Samples], seconds: float) -> Iterator[Samples]:
    with file:
        start = time.monotonic()
        for i, block in enumerate(pieces):
            delay = start + i * seconds - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            yield block


def blocks(pieces: Iterable[Samples], size: int) -> Iterator[Samples]:
    """The samples of `pieces` again in blocks of `size`; the last one may be shorter."""
    held = np.zeros(0, dtype=np.float32)
    for piece in pieces:
        held = np.concatenate([held, piece]) if len(held) else piece
        while len(held) >= size:
            yield held[:size]
            held = held[size:]
    if len(held):
        yield held
