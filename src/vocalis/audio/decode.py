"""Turns any uploaded audio into 16 kHz mono float32 samples, with PyAV's bundled FFmpeg.

`stream` hands the samples over piece by piece as the file is read, so a recording of hours
never sits in memory whole; `decode` is the same, joined into one array, for short audio.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, BinaryIO

import av
import numpy as np
import numpy.typing as npt

from vocalis.errors import InvalidAudio, PayloadTooLarge

SAMPLE_RATE = 16_000
Samples = npt.NDArray[np.float32]

SUPPORTED = "flac, m4a, mp3, mp4, mpeg, mpga, oga, ogg, opus, wav, webm, or raw 16-bit PCM"
# Raw PCM is read this many frames at a time.
RAW_BLOCK_FRAMES = 16_384
_DECODE_ERRORS = (av.FFmpegError, UnicodeDecodeError, ValueError, IndexError)


@dataclass(frozen=True)
class RawPcm:
    """Headerless signed 16-bit little-endian PCM, interleaved when there are several channels."""

    rate: int
    channels: int = 1


def stream(
    file: BinaryIO,
    *,
    max_seconds: float,
    raw: RawPcm | None = None,
    sample_rate: int = SAMPLE_RATE,
) -> Iterator[Samples]:
    """Decoded, downmixed, resampled audio in pieces as they are read.

    What can be checked up front (empty file, no audio stream, declared length, raw PCM
    framing) raises InvalidAudio or PayloadTooLarge now; a file that breaks part-way, or
    turns out longer than `max_seconds`, raises the same while it is iterated.
    """
    if _is_empty(file):
        raise InvalidAudio("The audio file is empty.")
    frames = _raw_frames(file, raw, max_seconds) if raw else _container_frames(file, max_seconds)
    return _resampled(frames, sample_rate, max_seconds)


def decode(
    file: BinaryIO,
    *,
    max_seconds: float,
    raw: RawPcm | None = None,
    sample_rate: int = SAMPLE_RATE,
) -> Samples:
    """The whole file as one array; see `stream` for what it raises."""
    pieces = list(stream(file, max_seconds=max_seconds, raw=raw, sample_rate=sample_rate))
    return np.concatenate(pieces).astype(np.float32, copy=False)


def declared_seconds(file: BinaryIO, raw: RawPcm | None = None) -> float | None:
    """The length the file says it has, without decoding it; None when it does not say."""
    if raw:
        return _size(file) / (2 * raw.channels) / raw.rate
    position = file.tell()
    try:
        with av.open(file, mode="r", metadata_errors="ignore") as container:
            return _declared(container.streams.audio[0]) if container.streams.audio else None
    except _DECODE_ERRORS:
        return None
    finally:
        file.seek(position)


def _is_empty(file: BinaryIO) -> bool:
    position = file.tell()
    empty = not file.read(1)
    file.seek(position)
    return empty


def _size(file: BinaryIO) -> int:
    position = file.tell()
    size = file.seek(0, 2) - position
    file.seek(position)
    return size


def _declared(stream: av.audio.stream.AudioStream) -> float | None:
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    return None


def _container_frames(file: BinaryIO, max_seconds: float) -> Iterator[av.AudioFrame]:
    try:
        container = av.open(file, mode="r", metadata_errors="ignore")
    except _DECODE_ERRORS as exc:
        raise _undecodable(exc) from exc
    if not container.streams.audio:
        container.close()
        raise InvalidAudio(f"The file has no audio stream. Supported formats: {SUPPORTED}.")
    audio = container.streams.audio[0]
    if (_declared(audio) or 0) > max_seconds + 1:
        container.close()
        raise _too_long(max_seconds)
    return _frames_of(container, audio)


def _frames_of(
    container: av.container.InputContainer, audio: av.audio.stream.AudioStream
) -> Iterator[av.AudioFrame]:
    try:
        yield from container.decode(audio)
    except _DECODE_ERRORS as exc:
        raise _undecodable(exc) from exc
    finally:
        container.close()


def _raw_frames(file: BinaryIO, raw: RawPcm, max_seconds: float) -> Iterator[av.AudioFrame]:
    frame_bytes = 2 * raw.channels
    size = _size(file)
    if size % frame_bytes:
        raise InvalidAudio(f"Raw PCM length must be a multiple of {frame_bytes} bytes (s16le).")
    if size / frame_bytes / raw.rate > max_seconds:
        raise _too_long(max_seconds)
    return _raw_blocks(file, raw)


def _raw_blocks(file: BinaryIO, raw: RawPcm) -> Iterator[av.AudioFrame]:
    done = 0
    while block := file.read(RAW_BLOCK_FRAMES * 2 * raw.channels):
        mono = pcm16_mono(block, raw.channels)
        frame = av.AudioFrame.from_ndarray(mono.reshape(1, -1), format="flt", layout="mono")
        frame.sample_rate = raw.rate
        frame.time_base = Fraction(1, raw.rate)
        frame.pts = done
        done += len(mono)
        yield frame


def pcm16_mono(data: bytes, channels: int = 1) -> Samples:
    """Whole frames of interleaved s16le as mono float32 in [-1, 1]."""
    samples = np.frombuffer(data, dtype="<i2").reshape(-1, channels).mean(axis=1)
    mono: Samples = (samples / 32768.0).astype(np.float32)
    return mono


def _resampled(frames: Iterator[av.AudioFrame], rate: int, max_seconds: float) -> Iterator[Samples]:
    resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
    limit = int(max_seconds * rate)
    total = 0
    for frame in _with_end(frames):
        for out in resampler.resample(frame):
            piece: npt.NDArray[Any] = out.to_ndarray().reshape(-1)
            total += len(piece)
            # Stop early instead of decoding hours of audio only to refuse it.
            if total > limit:
                raise _too_long(max_seconds)
            yield piece.astype(np.float32, copy=False)
    if not total:
        raise InvalidAudio("The file contains no audio samples.")


def _with_end(frames: Iterator[av.AudioFrame]) -> Iterator[av.AudioFrame | None]:
    """The frames, then None, which tells the resampler to flush what it holds."""
    yield from frames
    yield None


def _undecodable(exc: Exception) -> InvalidAudio:
    return InvalidAudio(
        f"The file could not be decoded as audio ({exc.__class__.__name__}). "
        f"Supported formats: {SUPPORTED}."
    )


def _too_long(max_seconds: float) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"The audio is longer than this server's limit of {max_seconds:g} seconds "
        "(setting VOCALIS_MAX_AUDIO_SECONDS)."
    )
