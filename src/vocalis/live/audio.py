"""Audio as live clients send it: s16le bytes at any rate, to 16 kHz float32 pieces."""

from __future__ import annotations

from vocalis.audio.decode import SAMPLE_RATE, Samples, pcm16_mono
from vocalis.audio.resample import StreamResampler


class PcmInput:
    """Converts one connection's PCM as it arrives; the resampler keeps its state across
    messages, so a stream cut into any pieces resamples as one."""

    def __init__(self, rate: int = SAMPLE_RATE, channels: int = 1):
        if not 8_000 <= rate <= 192_000:
            raise ValueError(f"sample rate {rate} Hz is outside 8000-192000 Hz")
        if channels not in (1, 2):
            raise ValueError("audio must have 1 or 2 channels")
        self.rate = rate
        self.channels = channels
        self._frame_bytes = 2 * channels
        self._resampler = StreamResampler(rate, SAMPLE_RATE) if rate != SAMPLE_RATE else None

    def convert(self, data: bytes) -> Samples:
        """Raises ValueError when `data` is not whole s16le frames."""
        if len(data) % self._frame_bytes:
            raise ValueError(
                f"PCM messages must be whole 16-bit frames: a multiple of {self._frame_bytes} "
                f"bytes, got {len(data)}"
            )
        mono = pcm16_mono(data, self.channels)
        if self._resampler is None or not len(mono):
            return mono
        return self._resampler.resample(mono)
