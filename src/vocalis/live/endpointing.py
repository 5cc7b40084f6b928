"""Where an utterance starts and ends, frame by frame, from speech probabilities. Pure rules.

An utterance starts once speech has lasted `min_speech_ms`. When silence begins it is only
a pause; after `tail_ms` of it the utterance so far is worth decoding (the session starts a
speculative final then, so the text is ready when the silence rule fires), and after
`silence_ms` it has ended. Speech that goes on past `max_utterance_seconds` is cut there.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from vocalis.live.vad import FRAME_SECONDS


@dataclass(frozen=True)
class Endpointing:
    threshold: float = 0.5
    silence_ms: int = 500
    prefix_padding_ms: int = 300
    max_utterance_seconds: float = 12.0
    min_speech_ms: int = 96
    tail_ms: int = 160

    def frames(self, ms: float) -> int:
        return max(1, round(ms / 1000 / FRAME_SECONDS))

    @property
    def release(self) -> float:
        """Below this a frame is silence; between the two it keeps the current state."""
        return max(0.01, self.threshold - 0.15)


class Mark(enum.Enum):
    START = "start"  # speech began at `Endpointer.start`
    SETTLED = "settled"  # a pause has lasted tail_ms: decode up to `Endpointer.end`
    RESUME = "resume"  # the pause was only a pause
    END = "end"  # the utterance ended at `Endpointer.end`
    CUT = "cut"  # too long: cut at `Endpointer.end`; speech goes on in a new utterance


class Endpointer:
    """Feed one probability per frame; frame numbers count from the first frame fed."""

    def __init__(self, rules: Endpointing):
        self.rules = rules
        self.frame = 0  # frames seen so far
        self.speaking = False
        self.start = 0  # first frame of the current utterance
        self.end = 0  # frame after its last speech frame, when a pause or end is marked
        self._run = 0  # consecutive speech frames while idle, silent frames while speaking
        self._min_speech = rules.frames(rules.min_speech_ms)
        self._tail = rules.frames(rules.tail_ms)
        self._silence = max(rules.frames(rules.silence_ms), self._tail)
        self._longest = rules.frames(rules.max_utterance_seconds * 1000)

    @property
    def paused(self) -> bool:
        """Speaking, but the last frames were silence."""
        return self.speaking and self._run > 0

    def step(self, probability: float) -> Mark | None:
        self.frame += 1
        if not self.speaking:
            return self._idle(probability)
        return self._speech(probability)

    def _idle(self, probability: float) -> Mark | None:
        self._run = self._run + 1 if probability >= self.rules.threshold else 0
        if self._run < self._min_speech:
            return None
        self.speaking, self.start, self._run = True, self.frame - self._run, 0
        return Mark.START

    def _speech(self, probability: float) -> Mark | None:
        paused = self._run > 0
        held = probability >= self.rules.release and not paused
        if probability >= self.rules.threshold or held:
            self._run = 0
            if self.frame - self.start >= self._longest:
                self.end = self.frame
                self.start = self.frame
                return Mark.CUT
            return Mark.RESUME if paused else None
        if not paused:
            self.end = self.frame - 1
        self._run += 1
        if self._run == self._silence:
            self.speaking, self._run = False, 0
            return Mark.END
        if self.frame - self.start >= self._longest:
            self.speaking, self._run = False, 0
            return Mark.END
        return Mark.SETTLED if self._run == self._tail else None

    def finish(self) -> bool:
        """End the utterance now (a flush); True if one was in progress. `end` is set."""
        if not self.speaking:
            return False
        if self._run == 0:
            self.end = self.frame
        self.speaking, self._run = False, 0
        return True
