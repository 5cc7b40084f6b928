"""Encoders for the OpenAI speech formats, plus resampling and tempo change, with PyAV.

StreamEncoder hands back encoded bytes as soon as the muxer has them, so a response can
start playing while later sentences are still being synthesized. mp3, opus, aac and flac
go through PyAV's bundled FFmpeg; wav and pcm are plain 16-bit PCM written here.
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING, Protocol, cast

import av
import av.filter
import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer

Samples = npt.NDArray[np.float32]
# Engines give float32 in [-1, 1] (Kokoro) or int16 (Piper).
AudioInput = npt.NDArray[np.float32] | npt.NDArray[np.float64] | npt.NDArray[np.int16]

MEDIA_TYPES: dict[str, str] = {
    "mp3": "audio/mpeg",
    "opus": "audio/ogg",
    "aac": "audio/aac",
    "flac": "audio/flac",
    "wav": "audio/wav",
    "pcm": "audio/pcm",
}


@dataclass(frozen=True)
class _Codec:
    container: str
    codec: str
    rate: int | None = None  # None: the input rate, if the codec supports it
    muxer_options: dict[str, str] = field(default_factory=dict)


_CODECS = {
    "mp3": _Codec("mp3", "libmp3lame"),
    # Ogg pages hold page_duration of audio (default 1 s) and one page is kept back until
    # the next is full, so the first bytes came after 2 s. 100 ms pages let opus stream.
    "opus": _Codec("ogg", "libopus", rate=48_000, muxer_options={"page_duration": "100000"}),
    # ADTS frames carry their own headers, so aac plays while it downloads (mp4 would not).
    "aac": _Codec("adts", "aac"),
    "flac": _Codec("flac", "flac"),
}


class StreamEncoder:
    """Encode mono audio piece by piece: write() returns what is ready, close() the rest.

    Streaming output is what a muxer writes to a pipe: mp3 without the LAME/Xing tag (so
    decoders keep the encoder's padding), flac whose header does not know the length, and
    wav whose header says 0xFFFFFFFF bytes, the usual streaming convention.
    streaming=False keeps everything until close() so those headers are filled in: that is
    what encode() uses for whole files. pcm is raw s16le at the input sample rate.
    """

    def __init__(self, format: str, sample_rate: int, *, streaming: bool = True) -> None:
        _check_format(format)
        _check_rate(sample_rate)
        self._writer = _writer(format, sample_rate, streaming)
        self._closed = False

    def write(self, samples: AudioInput) -> bytes:
        if self._closed:
            raise ValueError("write() after close()")
        return self._writer.write(_as_float32(samples))

    def close(self) -> bytes:
        if self._closed:
            return b""
        self._closed = True
        return self._writer.close()


def encode(samples: AudioInput, sample_rate: int, format: str) -> bytes:
    """A whole file at once, headers complete."""
    encoder = StreamEncoder(format, sample_rate, streaming=False)
    return encoder.write(samples) + encoder.close()


def resample(samples: AudioInput, from_rate: int, to_rate: int) -> Samples:
    """Mono float32 at to_rate, e.g. Piper's 22050 Hz to the 24 kHz OpenAI pcm expects."""
    _check_rate(from_rate)
    _check_rate(to_rate)
    audio = _as_float32(samples)
    if from_rate == to_rate or not len(audio):
        return audio
    resampler = av.AudioResampler(format="flt", layout="mono", rate=to_rate)
    frame = _frame(audio, from_rate, pts=0)
    return _concat([*resampler.resample(frame), *resampler.resample(None)])


def change_tempo(samples: AudioInput, sample_rate: int, factor: float) -> Samples:
    """Speed speech up (factor > 1) or slow it down without changing its pitch.

    For engines that cannot reach the requested speed themselves. Uses FFmpeg's atempo
    filter, chained because one atempo only takes factors from 0.5 to 2.
    """
    if factor <= 0:
        raise ValueError(f"tempo factor must be positive, got {factor}")
    _check_rate(sample_rate)
    audio = _as_float32(samples)
    if factor == 1 or not len(audio):
        return audio
    graph = av.filter.Graph()
    source = graph.add_abuffer(
        sample_rate=sample_rate, format="flt", layout="mono", time_base=Fraction(1, sample_rate)
    )
    steps = [graph.add("atempo", str(step)) for step in _atempo_steps(factor)]
    graph.link_nodes(source, *steps, graph.add("abuffersink")).configure()
    graph.push(_frame(audio, sample_rate, pts=0))
    graph.push(None)
    return _concat(_drain_graph(graph))


def _atempo_steps(factor: float) -> list[float]:
    steps: list[float] = []
    while factor > 2.0:
        steps.append(2.0)
        factor /= 2.0
    while factor < 0.5:
        steps.append(0.5)
        factor /= 0.5
    return [*steps, factor]


def _drain_graph(graph: av.filter.Graph) -> list[av.AudioFrame]:
    frames: list[av.AudioFrame] = []
    while True:
        try:
            frame = graph.pull()
        except (EOFError, BlockingIOError):  # PyAV's errors subclass these builtins
            return frames
        frames.append(cast(av.AudioFrame, frame))


# --- Writers -----------------------------------------------------------------------------


class _Writer(Protocol):
    def write(self, samples: Samples) -> bytes: ...
    def close(self) -> bytes: ...


def _writer(format: str, sample_rate: int, streaming: bool) -> _Writer:
    if format in _CODECS:
        return _AvWriter(_CODECS[format], sample_rate, streaming)
    return _PcmWriter(sample_rate, wav=format == "wav", streaming=streaming)


class _StreamSink(io.RawIOBase):
    """Where the muxer writes, emptied after every write.

    Not seekable on purpose: muxers then write output that never needs patching (no
    going back to fill in lengths), and FFmpeg flushes after each packet.
    """

    def __init__(self) -> None:
        super().__init__()
        self._data = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, data: ReadableBuffer) -> int:
        view = memoryview(data)
        self._data += view
        return view.nbytes

    def take(self) -> bytes:
        taken = bytes(self._data)
        self._data.clear()
        return taken


class _AvWriter:
    def __init__(self, codec: _Codec, sample_rate: int, streaming: bool) -> None:
        self._sink: _StreamSink | io.BytesIO = _StreamSink() if streaming else io.BytesIO()
        self._container = av.open(
            self._sink, mode="w", format=codec.container, container_options=codec.muxer_options
        )
        rate = codec.rate or _codec_rate(codec.codec, sample_rate)
        # The stream's encoder converts format, rate and frame size itself: PyAV puts an
        # av.AudioResampler in front of it, so frames of any length and rate can go in.
        self._stream = cast(av.AudioStream, self._container.add_stream(codec.codec, rate=rate))
        self._stream.layout = "mono"
        self._sample_rate = sample_rate
        self._pts = 0

    def write(self, samples: Samples) -> bytes:
        if len(samples):
            frame = _frame(samples, self._sample_rate, pts=self._pts)
            self._pts += len(samples)
            self._container.mux(self._stream.encode(frame))
        return self._take(final=False)

    def close(self) -> bytes:
        self._container.mux(self._stream.encode(None))
        self._container.close()
        return self._take(final=True)

    def _take(self, final: bool) -> bytes:
        if isinstance(self._sink, _StreamSink):
            return self._sink.take()
        return self._sink.getvalue() if final else b""


def _codec_rate(codec: str, sample_rate: int) -> int:
    """sample_rate if the codec takes it, else the next higher rate it does (mp3 has no 96k)."""
    rates = sorted(av.Codec(codec, "w").audio_rates or [])
    if not rates or sample_rate in rates:
        return sample_rate
    return next((rate for rate in rates if rate > sample_rate), rates[-1])


class _PcmWriter:
    """pcm: bare signed 16-bit little-endian samples; wav: the same behind a RIFF header."""

    def __init__(self, sample_rate: int, *, wav: bool, streaming: bool) -> None:
        self._sample_rate = sample_rate
        self._wav = wav
        self._streaming = streaming
        self._header_sent = not wav
        self._held: list[bytes] = []

    def write(self, samples: Samples) -> bytes:
        data = to_s16le(samples)
        if not self._streaming:
            self._held.append(data)
            return b""
        return self._header(None) + data

    def close(self) -> bytes:
        data = b"".join(self._held)
        return self._header(len(data) if not self._streaming else None) + data

    def _header(self, data_size: int | None) -> bytes:
        """The header once, before the first bytes (even with no audio at all)."""
        if self._header_sent:
            return b""
        self._header_sent = True
        return wav_header(self._sample_rate, data_size)


_UNKNOWN_SIZE = 0xFFFFFFFF


def wav_header(sample_rate: int, data_size: int | None = None) -> bytes:
    """44-byte header of a mono 16-bit PCM WAV; None: the length is unknown (streaming)."""
    riff_size = _UNKNOWN_SIZE if data_size is None else min(36 + data_size, _UNKNOWN_SIZE)
    data_size = _UNKNOWN_SIZE if data_size is None else min(data_size, _UNKNOWN_SIZE)
    byte_rate = sample_rate * 2
    fmt = struct.pack("<HHIIHH", 1, 1, sample_rate, byte_rate, 2, 16)
    return b"".join(
        (
            b"RIFF" + struct.pack("<I", riff_size) + b"WAVE",
            b"fmt " + struct.pack("<I", len(fmt)) + fmt,
            b"data" + struct.pack("<I", data_size),
        )
    )


# --- Samples -----------------------------------------------------------------------------


def _as_float32(samples: AudioInput) -> Samples:
    array = np.asarray(samples)
    if array.ndim != 1:
        raise ValueError(f"expected mono samples as a 1-D array, got shape {array.shape}")
    if array.dtype == np.int16:
        return array.astype(np.float32) / np.float32(32768.0)
    return np.clip(array.astype(np.float32, copy=False), -1.0, 1.0)


def to_s16le(samples: Samples) -> bytes:
    """Float32 samples in [-1, 1] as s16le; scaled by 32768 so int16 input comes back out
    unchanged."""
    scaled = np.clip(np.round(samples * 32768.0), -32768, 32767)
    return scaled.astype("<i2").tobytes()


def _frame(samples: Samples, sample_rate: int, *, pts: int) -> av.AudioFrame:
    frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="flt", layout="mono")
    frame.sample_rate = sample_rate
    frame.time_base = Fraction(1, sample_rate)
    frame.pts = pts
    return frame


def _concat(frames: list[av.AudioFrame]) -> Samples:
    pieces = [frame.to_ndarray().reshape(-1) for frame in frames]
    if not pieces:
        return np.zeros(0, dtype=np.float32)
    return np.concatenate(pieces).astype(np.float32, copy=False)


def _check_format(format: str) -> None:
    if format not in MEDIA_TYPES:
        raise ValueError(
            f"unsupported audio format {format!r}; expected one of {', '.join(MEDIA_TYPES)}"
        )


def _check_rate(sample_rate: int) -> None:
    if sample_rate <= 0:
        raise ValueError(f"sample rate must be positive, got {sample_rate}")
