"""What a live transcription session reports, in the core's own terms (no wire format).

Times are seconds of the session's audio, counted from its first sample; `item` numbers
each utterance of the session from 0.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SpeechStarted:
    item: int
    at: float


@dataclass(frozen=True)
class SpeechStopped:
    item: int
    at: float


@dataclass(frozen=True)
class Partial:
    item: int
    text: str  # every stable word so far
    delta: str  # the words that became stable just now


@dataclass(frozen=True)
class Final:
    item: int
    text: str
    start: float
    end: float

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class Failed:
    """An utterance whose transcription failed; the session goes on."""

    item: int
    message: str


@dataclass(frozen=True)
class BufferLimit:
    """The uncommitted audio reached the cap; it is transcribed as one utterance now."""

    duration: float


Event = SpeechStarted | SpeechStopped | Partial | Final | Failed | BufferLimit
