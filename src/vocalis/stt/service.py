"""Speech-to-text as the server and CLI use it: model names in, loaded transcribers out."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from vocalis.config import Settings
from vocalis.models.catalog import ModelSpec
from vocalis.models.pool import ModelPool
from vocalis.models.store import ModelStore
from vocalis.stt.backends import BackendChoice, PlatformFacts, choose_backend, detect_platform
from vocalis.stt.base import Transcriber


class SpeechToText:
    def __init__(self, settings: Settings, store: ModelStore, facts: PlatformFacts | None = None):
        self.settings = settings
        self.store = store
        self.choice: BackendChoice = choose_backend(
            facts or detect_platform(),
            settings.stt_backend,
            settings.device,
            settings.compute_type,
        )
        self.pool: ModelPool[Transcriber] = ModelPool(self._load, settings.model_idle_timeout)

    @property
    def default_model(self) -> str:
        return self.store.spec(self.settings.default_stt_model, "stt").id

    def resolve(self, name: str | None) -> ModelSpec:
        return self.store.spec(name or self.settings.default_stt_model, "stt")

    @contextmanager
    def borrow(self, spec: ModelSpec) -> Iterator[Transcriber]:
        """A loaded transcriber, loading it on first use. Blocks: call from a worker thread."""
        with self.pool.use(spec.id) as transcriber:
            yield transcriber

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
            batched_min_seconds=self.settings.batched_min_seconds,
            batch_size=self.settings.batch_size,
            beam_size=self.settings.beam_size,
            batched_beam_size=self.settings.batched_beam_size,
        )
