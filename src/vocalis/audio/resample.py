"""Resampling of audio that arrives in blocks (a microphone, a WebSocket)."""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np

from vocalis.audio.decode import Samples


class StreamResampler:
    """Resamples a stream cut into blocks as one signal: the resampler keeps its state."""

    def __init__(self, from_rate: int, to_rate: int):
        self._from_rate = from_rate
        self._resampler = av.AudioResampler(format="flt", layout="mono", rate=to_rate)
        self._done = 0

    def resample(self, samples: Samples) -> Samples:
        frame = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(samples, dtype=np.float32).reshape(1, -1),
            format="flt",
            layout="mono",
        )
        frame.sample_rate = self._from_rate
        frame.time_base = Fraction(1, self._from_rate)
        frame.pts = self._done
        self._done += len(samples)
        pieces = [out.to_ndarray().reshape(-1) for out in self._resampler.resample(frame)]
        return np.concatenate(pieces).astype(np.float32) if pieces else np.zeros(0, np.float32)
