"""What a text-to-speech engine takes and gives, independent of any engine."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import numpy.typing as npt

Samples = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Voice:
    id: str
    name: str
    language: str  # BCP-47 such as "en-US", "fr-FR"
    gender: str  # "female", "male" or "unknown"
    model: str  # the engine that speaks it: "piper" or "kokoro"


@dataclass(frozen=True)
class SynthesisOptions:
    voice: str  # a voice id of this engine (Kokoro also takes blends: "af_bella(2)+af_heart(1)")
    speed: float = 1.0  # within the engine's native_speed range; the caller stretches the rest
    language: str | None = None  # None: the voice's own language


class Synthesizer(Protocol):
    """A loaded TTS engine. `synthesize` blocks: call it from a worker thread.

    It speaks one short piece of text (a sentence or a clause) and returns mono float32
    samples in [-1, 1] at `sample_rate`; splitting longer text is the caller's job.
    """

    sample_rate: int
    native_speed: tuple[float, float]
    max_chars: int
    # The first piece of a stream is cut to about this size, so its audio is ready quickly.
    first_chunk_chars: int

    def voices(self) -> list[Voice]: ...

    def synthesize(self, text: str, options: SynthesisOptions) -> Samples: ...


@dataclass
class FakeSynthesizer:
    """A sine tone whose length follows the text; records calls. For tests of the logic."""

    sample_rate: int = 24_000
    native_speed: tuple[float, float] = (0.5, 2.0)
    max_chars: int = 200
    first_chunk_chars: int = 60
    seconds_per_char: float = 0.05
    calls: list[str] = field(default_factory=list)

    def voices(self) -> list[Voice]:
        return [Voice("fake", "Fake", "en-US", "unknown", "fake")]

    def synthesize(self, text: str, options: SynthesisOptions) -> Samples:
        self.calls.append(text)
        n = int(len(text) * self.seconds_per_char / options.speed * self.sample_rate)
        t = np.arange(n, dtype=np.float32) / self.sample_rate
        return (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
