"""Wyoming audio in: PCM of any rate, width and channel count, to the live core's 16-kHz input.

The sample width is the one thing the live core does not take (its clients all send 16 bits),
so it is reduced to s16le here; rate and channels go through the core's `PcmInput`.
"""

from __future__ import annotations

import numpy as np

from vocalis.audio.decode import SAMPLE_RATE, Samples
from vocalis.errors import InvalidRequest
from vocalis.live.audio import PcmInput
from vocalis.wyoming.protocol import AudioChunk, AudioFormat

WIDTHS = (1, 2, 3, 4)


class UnsupportedAudio(InvalidRequest):
    code = "unsupported_audio_format"


class AudioTooLong(InvalidRequest):
    code = "audio_too_long"


def to_s16(data: bytes, width: int) -> bytes:
    """Little-endian PCM samples of `width` bytes as s16le: their 16 most significant bits.

    8-bit PCM is unsigned (as in WAV files); wider samples are signed.
    """
    if width == 2:
        return data
    samples = np.frombuffer(data, dtype=np.uint8).reshape(-1, width)
    if width == 1:
        return ((samples[:, 0].astype(np.int16) - 128) << 8).astype("<i2").tobytes()
    return np.ascontiguousarray(samples[:, -2:]).tobytes()


class AudioIn:
    """One request's audio: every chunk in the format its audio-start announced, converted as
    it arrives and kept until audio-stop, up to `max_seconds`."""

    def __init__(self, audio_format: AudioFormat, max_seconds: float):
        rate, width, channels = audio_format.rate, audio_format.width, audio_format.channels
        if not all(isinstance(value, int) for value in (rate, width, channels)):
            raise UnsupportedAudio("rate, width and channels must be integers.")
        if width not in WIDTHS:
            raise UnsupportedAudio(f"Sample width {width} is not supported: 1 to 4 bytes.")
        try:
            self._pcm = PcmInput(rate, channels)
        except ValueError as exc:
            raise UnsupportedAudio(f"Unsupported audio: {exc}.") from None
        self.format = (rate, width, channels)
        self._frame_bytes = width * channels
        self._max_samples = int(max_seconds * SAMPLE_RATE)
        self._max_seconds = max_seconds
        self._pieces: list[Samples] = []
        self._samples = 0

    def add(self, chunk: AudioChunk) -> None:
        if (chunk.rate, chunk.width, chunk.channels) != self.format:
            raise UnsupportedAudio(
                "An audio-chunk must have the rate, width and channels of its audio-start "
                f"{self.format}, got {(chunk.rate, chunk.width, chunk.channels)}."
            )
        if len(chunk.audio) % self._frame_bytes:
            raise UnsupportedAudio(
                f"An audio-chunk must hold whole frames of {self._frame_bytes} bytes, "
                f"got {len(chunk.audio)} bytes."
            )
        samples = self._pcm.convert(to_s16(chunk.audio, chunk.width))
        self._samples += len(samples)
        if self._samples > self._max_samples:
            raise AudioTooLong(
                f"A request may hold at most {self._max_seconds:g} s of audio "
                "(VOCALIS_LIVE_BUFFER_SECONDS)."
            )
        self._pieces.append(samples)

    @property
    def seconds(self) -> float:
        return self._samples / SAMPLE_RATE

    def samples(self) -> Samples:
        """Everything so far, as 16-kHz mono float32."""
        if not self._pieces:
            return np.zeros(0, np.float32)
        return np.concatenate(self._pieces)
