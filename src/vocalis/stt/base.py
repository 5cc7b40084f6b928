"""What a speech-to-text backend takes and gives, independent of any engine."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from vocalis.audio.decode import SAMPLE_RATE

Task = Literal["transcribe", "translate"]
# Language is told from the start of a recording, as Whisper and whisper-asr-webservice do.
DETECT_LANGUAGE_SECONDS = 30


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


@runtime_checkable
class LanguageDetector(Protocol):
    """A backend that can tell the language without transcribing (optional: see
    `detect_language`). Blocks: call it from a worker thread."""

    def detect_language(self, audio: npt.NDArray[np.float32]) -> tuple[str, float]: ...


def detect_language(transcriber: Transcriber, audio: npt.NDArray[np.float32]) -> tuple[str, float]:
    """The language spoken in the first 30 s, and the engine's probability for it: from the
    backend's own detector where it has one, else from what a transcription reports."""
    clip = audio[: DETECT_LANGUAGE_SECONDS * SAMPLE_RATE]
    if isinstance(transcriber, LanguageDetector):
        return transcriber.detect_language(clip)
    info = transcriber.transcribe(clip, TranscriptionOptions(timestamps=False)).info
    return info.language, info.language_probability


@dataclass
class FakeTranscriber:
    """Returns fixed segments; for tests of the logic around a transcriber."""

    segments: list[Segment]
    language: str = "en"
    language_probability: float = 1.0
    calls: list[TranscriptionOptions] = field(default_factory=list)

    def transcribe(
        self, audio: npt.NDArray[np.float32], options: TranscriptionOptions
    ) -> Transcription:
        self.calls.append(options)
        probability = 1.0 if options.language else self.language_probability
        info = TranscriptionInfo(
            options.language or self.language, probability, len(audio) / SAMPLE_RATE
        )
        return Transcription(info, iter(self.segments))
