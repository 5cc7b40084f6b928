"""Speech-to-text as the server and CLI use it: model names in, loaded transcribers out."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import numpy as np

from vocalis.audio.decode import SAMPLE_RATE, Samples
from vocalis.config import Settings
from vocalis.models.budget import MemoryBudget
from vocalis.models.catalog import ModelSpec
from vocalis.models.pool import ModelPool
from vocalis.models.store import ModelStore
from vocalis.stt.backends import BackendChoice, PlatformFacts, choose_backend, detect_platform
from vocalis.stt.base import (
    DETECT_LANGUAGE_SECONDS,
    Transcriber,
    Transcription,
    TranscriptionOptions,
    detect_language,
)
from vocalis.stt.windowed import Checkpoint, Resume, Windowing, transcribe_windows

# OpenAI's transcription models: each is this server's default model.
OPENAI_STT_MODELS = frozenset(
    {
        "whisper-1",
        "gpt-4o-transcribe",
        "gpt-4o-mini-transcribe",
        "gpt-4o-mini-transcribe-2025-12-15",
        "gpt-transcribe",
        "gpt-live-transcribe",
        "gpt-realtime-whisper",
    }
)


class SpeechToText:
    def __init__(
        self,
        settings: Settings,
        store: ModelStore,
        facts: PlatformFacts | None = None,
        budget: MemoryBudget | None = None,
    ):
        self.settings = settings
        self.store = store
        self.choice: BackendChoice = choose_backend(
            facts or detect_platform(),
            settings.stt_backend,
            settings.device,
            settings.compute_type,
        )
        self.pool: ModelPool[Transcriber] = ModelPool(
            self._load, settings.model_idle_timeout, budget=budget, size_hint=self._model_size
        )
        self.windowing = Windowing(
            window_seconds=settings.window_seconds,
            search_seconds=min(20.0, settings.window_seconds / 4),
            long_seconds=settings.long_audio_seconds,
            long_beam_size=settings.long_beam_size,
        )

    def _model_size(self, model_id: str) -> int:
        spec = self.store.catalog.get(model_id)
        return spec.size if spec else 0

    @property
    def default_model(self) -> str:
        return self.store.spec(self.settings.default_stt_model, "stt").id

    def resolve(self, name: str | None) -> ModelSpec:
        """The model for a request's name: OpenAI's names and none mean the default."""
        if not name or name.strip().lower() in OPENAI_STT_MODELS:
            return self.store.spec(self.settings.default_stt_model, "stt")
        return self.store.spec(name, "stt")

    @contextmanager
    def borrow(self, spec: ModelSpec) -> Iterator[Transcriber]:
        """A loaded transcriber, loading it on first use. Blocks: call from a worker thread."""
        with self.pool.use(spec.id) as transcriber:
            yield transcriber

    @contextmanager
    def transcribe(
        self,
        spec: ModelSpec,
        audio: Iterable[Samples],
        options: TranscriptionOptions,
        checkpoint: Checkpoint | None = None,
        resume: Resume | None = None,
    ) -> Iterator[Transcription]:
        """Audio of any length, window by window, while the model stays borrowed; with
        `resume`, from where an earlier run of the same audio stopped.

        Blocks: call from a worker thread, and iterate the segments inside the block.
        """
        with self.borrow(spec) as transcriber:
            yield transcribe_windows(
                transcriber, audio, options, self.windowing, checkpoint, resume
            )

    def detect_language(self, spec: ModelSpec, audio: Iterable[Samples]) -> tuple[str, float]:
        """The language of the first 30 s and its probability, reading no further into the
        audio (a client may send a whole film to learn its language). Blocks."""
        head = np.concatenate([np.zeros(0, np.float32), *_head(audio, DETECT_LANGUAGE_SECONDS)])
        with self.borrow(spec) as transcriber:
            return detect_language(transcriber, head)

    def _load(self, model_id: str) -> Transcriber:
        spec = self.store.spec(model_id, "stt")
        if self.choice.backend == "mlx":
            from vocalis.stt.mlx import MlxTranscriber

            return MlxTranscriber(spec.id)
        from vocalis.stt.faster_whisper import FasterWhisperTranscriber

        threads = self.settings.cpu_threads or os.cpu_count() or 1
        return FasterWhisperTranscriber(
            self.store.path(spec),
            device=self.choice.device,
            compute_type=self.choice.compute_type,
            cpu_threads=threads,
            num_workers=self.settings.max_concurrent_jobs,
            beam_size=self.settings.beam_size,
        )


def _head(audio: Iterable[Samples], seconds: float) -> Iterator[Samples]:
    """The decoded pieces up to `seconds` of audio, cut there; the rest is never decoded."""
    wanted = int(seconds * SAMPLE_RATE)
    for piece in audio:
        yield piece[:wanted]
        wanted -= len(piece)
        if wanted <= 0:
            return
