"""What every live protocol adapter shares: sessions over the app's services, and the cap
on how many are open at once. The adapters only translate wire messages."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from vocalis.config import Settings
from vocalis.errors import ServerBusy
from vocalis.live.endpointing import Endpointing
from vocalis.live.engine import ModelEngine, Runner
from vocalis.live.session import LiveConfig
from vocalis.server.jobs import JobQueue
from vocalis.stt.base import TranscriptionOptions
from vocalis.stt.languages import check_language
from vocalis.stt.service import SpeechToText


class LiveSlots:
    """At most `limit` live sessions; beyond that a clear refusal."""

    def __init__(self, limit: int):
        self.limit = limit
        self.open = 0

    @contextmanager
    def hold(self) -> Iterator[None]:
        if self.open >= self.limit:
            raise ServerBusy(
                f"The server already has {self.open} live sessions, its limit "
                "(VOCALIS_MAX_LIVE_SESSIONS). Retry shortly.",
                retry_after=5,
                code="too_many_sessions",
            )
        self.open += 1
        try:
            yield
        finally:
            self.open -= 1


def endpointing(
    settings: Settings,
    threshold: float | None = None,
    silence_ms: int | None = None,
    prefix_padding_ms: int | None = None,
) -> Endpointing:
    return Endpointing(
        threshold=threshold if threshold is not None else settings.live_vad_threshold,
        silence_ms=silence_ms if silence_ms is not None else settings.live_silence_ms,
        prefix_padding_ms=(
            prefix_padding_ms if prefix_padding_ms is not None else settings.live_prefix_padding_ms
        ),
        max_utterance_seconds=settings.live_max_utterance_seconds,
    )


def live_config(settings: Settings, rules: Endpointing | None, partials: bool = True) -> LiveConfig:
    return LiveConfig(
        endpointing=rules,
        partials=partials,
        partial_interval=settings.live_partial_interval,
        buffer_seconds=settings.live_buffer_seconds,
    )


def engine(
    stt: SpeechToText,
    jobs: JobQueue,
    model: str | None,
    language: str | None,
    prompt: str | None = None,
    run: Runner | None = None,
) -> ModelEngine:
    """Raises ModelNotFound or InvalidRequest for a model or language the server lacks."""
    spec = stt.resolve(model)
    options = TranscriptionOptions(language=check_language(language, spec), prompt=prompt or None)
    partial = stt.settings.live_partial_model
    partial_spec = stt.resolve(partial) if partial and not model_is(partial, spec.id) else None
    if partial_spec and options.language and options.language not in partial_spec.languages:
        partial_spec = None  # an English-only partial model for another language: skip it
    return ModelEngine(
        stt, spec, options, run or jobs.run_waiting, lambda: jobs.busy, partial_model=partial_spec
    )


def model_is(name: str, model_id: str) -> bool:
    return name.strip().lower() == model_id.lower()
