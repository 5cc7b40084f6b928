"""Turns any uploaded audio into 16 kHz mono float32 samples, with PyAV's bundled FFmpeg."""

from __future__ import annotations

from typing import Any, BinaryIO

import av
import numpy as np
import numpy.typing as npt

from vocalis.audio.encode import resample
from vocalis.errors import InvalidAudio, PayloadTooLarge

SAMPLE_RATE = 16_000
Samples = npt.NDArray[np.float32]

SUPPORTED = "flac, m4a, mp3, mp4, mpeg, mpga, oga, ogg, opus, wav, webm, or raw 16-bit PCM"


def decode(
    file: BinaryIO,
    *,
    max_seconds: float,
    sample_rate: int = SAMPLE_RATE,
) -> Samples:
    """Decode, downmix and resample; raise InvalidAudio or PayloadTooLarge on bad input."""
    if _is_empty(file):
        raise InvalidAudio("The audio file is empty.")
    try:
        with av.open(file, mode="r", metadata_errors="ignore") as container:
            if not container.streams.audio:
                raise InvalidAudio(f"The file has no audio stream. Supported formats: {SUPPORTED}.")
            return _decode_stream(container, max_seconds, sample_rate)
    except (av.FFmpegError, UnicodeDecodeError, ValueError, IndexError) as exc:
        raise InvalidAudio(
            f"The file could not be decoded as audio ({exc.__class__.__name__}). "
            f"Supported formats: {SUPPORTED}."
        ) from exc


def decode_pcm(
    data: bytes, *, rate: int, channels: int, max_seconds: float, sample_rate: int = SAMPLE_RATE
) -> Samples:
    """Raw signed 16-bit little-endian PCM, interleaved when there are several channels."""
    if not data:
        raise InvalidAudio("The audio file is empty.")
    frame_bytes = 2 * channels
    if len(data) % frame_bytes:
        raise InvalidAudio(f"Raw PCM length must be a multiple of {frame_bytes} bytes (s16le).")
    if len(data) / frame_bytes / rate > max_seconds:
        raise _too_long(max_seconds)
    samples = np.frombuffer(data, dtype="<i2").reshape(-1, channels).mean(axis=1)
    mono = (samples / 32768.0).astype(np.float32)
    return resample(mono, rate, sample_rate)


def _is_empty(file: BinaryIO) -> bool:
    position = file.tell()
    empty = not file.read(1)
    file.seek(position)
    return empty


def _decode_stream(
    container: av.container.InputContainer, max_seconds: float, rate: int
) -> Samples:
    stream = container.streams.audio[0]
    declared = stream.duration * stream.time_base if stream.duration and stream.time_base else 0
    if float(declared) > max_seconds + 1:
        raise _too_long(max_seconds)
    resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
    pieces: list[npt.NDArray[Any]] = []
    total = 0
    limit = int((max_seconds + 1) * rate)
    for frame in container.decode(stream):
        for out in resampler.resample(frame):
            pieces.append(out.to_ndarray().reshape(-1))
            total += out.samples
        # Stop early instead of decoding hours of audio only to refuse it.
        if total > limit:
            raise _too_long(max_seconds)
    pieces.extend(out.to_ndarray().reshape(-1) for out in resampler.resample(None))
    if not pieces:
        raise InvalidAudio("The file contains no audio samples.")
    samples = np.concatenate(pieces).astype(np.float32, copy=False)
    if len(samples) > max_seconds * rate:
        raise _too_long(max_seconds)
    return samples


def _too_long(max_seconds: float) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"The audio is longer than this server's limit of {max_seconds:g} seconds "
        "(setting VOCALIS_MAX_AUDIO_SECONDS)."
    )
