"""A connection's recent audio, addressed by sample number since the session began."""

from __future__ import annotations

import numpy as np

from vocalis.audio.decode import Samples


class Tape:
    def __init__(self) -> None:
        self._pieces: list[Samples] = []
        self.start = 0  # number of the first sample still held
        self.end = 0  # number of the sample after the last one received

    def extend(self, samples: Samples) -> None:
        if len(samples):
            self._pieces.append(samples)
            self.end += len(samples)

    def slice(self, start: int, stop: int) -> Samples:
        """Samples [start, stop), as far as they are still held."""
        start, stop = max(start, self.start), min(stop, self.end)
        if stop <= start:
            return np.zeros(0, dtype=np.float32)
        whole = np.concatenate(self._pieces) if len(self._pieces) > 1 else self._pieces[0]
        self._pieces = [whole]
        return whole[start - self.start : stop - self.start].copy()

    def forget(self, before: int) -> None:
        """Drop the samples before `before`; they will not be asked for again."""
        before = min(before, self.end)
        if before <= self.start:
            return
        whole = np.concatenate(self._pieces) if self._pieces else np.zeros(0, np.float32)
        self._pieces = [whole[before - self.start :]]
        self.start = before
