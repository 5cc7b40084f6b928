"""The live core's engine over the shared speech-to-text service: the models stay loaded
and shared, and every decode runs through the caller's runner (the server's job queue)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace

from vocalis.audio.decode import Samples
from vocalis.models.catalog import ModelSpec
from vocalis.stt.base import TranscriptionOptions
from vocalis.stt.service import SpeechToText

# Runs a blocking call off the event loop: JobQueue.run_waiting, or asyncio.to_thread.
Runner = Callable[[Callable[[], str]], Awaitable[str]]


class ModelEngine:
    """Finals with the session's model and options; partials greedy, and with
    `partial_model` when one is set (a smaller model keeps them cheap)."""

    def __init__(
        self,
        stt: SpeechToText,
        spec: ModelSpec,
        options: TranscriptionOptions,
        run: Runner,
        busy: Callable[[], bool] = lambda: False,
        partial_model: ModelSpec | None = None,
    ):
        self.stt = stt
        self.spec = spec
        self.options = replace(
            options, vad_filter=False, condition_on_previous_text=False, timestamps=False
        )
        self._run = run
        self._busy = busy
        self.partial_model = partial_model or spec

    async def transcribe(self, audio: Samples, partial: bool) -> str:
        if not len(audio):
            return ""
        if partial:
            options = replace(self.options, beam_size=1, temperature=0.0)
            return await self._run(lambda: self._text(self.partial_model, audio, options))
        return await self._run(lambda: self._text(self.spec, audio, self.options))

    def busy(self) -> bool:
        return self._busy()

    def _text(self, spec: ModelSpec, audio: Samples, options: TranscriptionOptions) -> str:
        with self.stt.borrow(spec) as transcriber:
            result = transcriber.transcribe(audio, options)
            return "".join(segment.text for segment in result.segments).strip()
