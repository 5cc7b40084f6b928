"""What a speech-to-text backend takes and gives, independent of any engine."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal, Protocol

import numpy as np
import numpy.typing as npt

Task = Literal["transcribe", "translate"]


@dataclass(frozen=True)
class TranscriptionOptions:
    task: Task = "transcribe"
    language: str | None = None  # None: detect
    prompt: str | None = None
    temperature: float | None = None  # None: the engine's fallback schedule
    word_timestamps: bool = False
    vad_filter: bool = False
    hotwords: str | None = None
    beam_size: int | None = None  # None: the backend's default
    # Whisper's context from one 30-s chunk to the next; off for long recordings.
    condition_on_previous_text: bool = True
    # False: the text alone, no timestamps, which lets a backend decode short audio faster
    # (a live utterance).
    timestamps: bool = True


@dataclass(frozen=True)
class Word:
    start: float
    end: float
    word: str
    probability: float


@dataclass(frozen=True)
class Segment:
    id: int
    seek: int
    start: float
    end: float
    text: str
    tokens: list[int]
    temperature: float
    avg_logprob: float
    compression_ratio: float
    no_speech_prob: float
    words: list[Word] = field(default_factory=list)


@dataclass(frozen=True)
class TranscriptionInfo:
    language: str
    language_probability: float
    duration: float


@dataclass
class Transcription:
    """Segments arrive lazily, as the engine decodes them, so callers can stream."""

    info: TranscriptionInfo
    segments: Iterator[Segment]


class Transcriber(Protocol):
    """A loaded speech-to-text model. `transcribe` blocks: call it from a worker thread."""

    def transcribe(
        self, audio: npt.NDArray[np.float32], options: TranscriptionOptions
    ) -> Transcription: ...


@dataclass
class FakeTranscriber:
    """Returns fixed segments; for tests of the logic around a transcriber."""

    segments: list[Segment]
    language: str = "en"
    calls: list[TranscriptionOptions] = field(default_factory=list)

    def transcribe(
        self, audio: npt.NDArray[np.float32], options: TranscriptionOptions
    ) -> Transcription:
        self.calls.append(options)
        info = TranscriptionInfo(options.language or self.language, 1.0, len(audio) / 16_000)
        return Transcription(info, iter(self.segments))
