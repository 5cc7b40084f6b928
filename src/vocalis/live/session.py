"""One live transcription: a connection's audio in, utterances and their text out.

The session holds the connection's state (its audio, endpointing, stable words), never a
model: it asks a `LiveEngine` for text, and the engine runs the shared model through the
job queue. Protocol adapters feed it audio and commands and translate its `events()`.

- With endpointing, Silero VAD finds each utterance. When a pause has lasted `tail_ms` the
  utterance is decoded at once (a speculative final); if the silence rule then fires, that
  result is the final, so the text is ready moments after the person stops.
- While someone speaks, the utterance is decoded again every `partial_interval` seconds and
  LocalAgreement turns the decodes into partial text that only grows. Partials are skipped
  while the engine is busy; finals are never dropped, and arrive in order.
- Without endpointing the client commits each turn; `buffer_seconds` caps what waits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Protocol

from starlette.concurrency import run_in_threadpool

from vocalis.audio.decode import SAMPLE_RATE, Samples
from vocalis.live.endpointing import Endpointer, Endpointing, Mark
from vocalis.live.events import (
    BufferLimit,
    Event,
    Failed,
    Final,
    Partial,
    SpeechStarted,
    SpeechStopped,
)
from vocalis.live.stability import LocalAgreement
from vocalis.live.tape import Tape
from vocalis.live.vad import FRAME, StreamingVad

log = logging.getLogger(__name__)


class LiveEngine(Protocol):
    """Text for a stretch of 16-kHz audio, decoded off the event loop."""

    async def transcribe(self, audio: Samples, partial: bool) -> str: ...

    def busy(self) -> bool:
        """True while partials should be skipped to leave the cores to finals."""
        ...


@dataclass(frozen=True)
class LiveConfig:
    # None: no VAD; the client commits each turn.
    endpointing: Endpointing | None = field(default_factory=Endpointing)
    partials: bool = True
    partial_interval: float = 0.6
    buffer_seconds: float = 120.0


@dataclass(frozen=True)
class _Utterance:
    item: int
    start: int  # samples
    stop: int
    text: asyncio.Task[str]


class LiveSession:
    def __init__(self, engine: LiveEngine, config: LiveConfig | None = None):
        self.engine = engine
        self.config = config or LiveConfig()
        self.item = 0  # the current (or next) utterance
        self._events: asyncio.Queue[Event | None] = asyncio.Queue()
        self._tape = Tape()
        self._begin = 0  # first sample of the current utterance (or of the manual buffer)
        self._agreement = LocalAgreement()
        self._partial: asyncio.Task[None] | None = None
        self._partial_at = 0
        self._speculation: tuple[int, asyncio.Task[str]] | None = None
        self._finals: asyncio.Queue[_Utterance | None] = asyncio.Queue()
        self._emitter: asyncio.Task[None] | None = None  # started with the first final
        self._closed = False
        self._decodes: set[asyncio.Task[str]] = set()
        self.reconfigure(self.config)

    def reconfigure(self, config: LiveConfig) -> None:
        """New rules from the next audio on (a Realtime `session.update`)."""
        self.config = config
        rules = config.endpointing
        self._vad = StreamingVad() if rules else None
        self._endpointer = Endpointer(rules) if rules else None
        self._frame_base = self._tape.end // FRAME  # endpointer frame 0, in session frames
        self._begin = self._tape.end

    @property
    def buffered_seconds(self) -> float:
        return (self._tape.end - self._begin) / SAMPLE_RATE

    @property
    def speaking(self) -> bool:
        return bool(self._endpointer and self._endpointer.speaking)

    # -- input ----------------------------------------------------------------------------

    async def append(self, samples: Samples) -> None:
        """16-kHz mono samples, as they arrive."""
        self._tape.extend(samples)
        if self._vad is None or self._endpointer is None:
            await self._check_buffer()
            return
        probabilities = await run_in_threadpool(self._vad.probabilities, samples)
        for probability in probabilities:
            mark = self._endpointer.step(float(probability))
            if mark is not None:
                self._on_mark(mark)
        if not self._endpointer.speaking:
            self._forget_idle()
        self._maybe_partial()
        await self._check_buffer()

    async def commit(self) -> int | None:
        """End the current utterance now; its item number, or None if nothing was pending."""
        if self._endpointer is not None:
            paused = self._endpointer.paused
            if not self._endpointer.finish():
                return None
            stop = self._pause_stop() if paused else self._tape.end
            return self._finish(self._sample(self._endpointer.end), stop)
        if self._tape.end == self._begin:
            return None
        return self._finish(self._tape.end, self._tape.end)

    def clear(self) -> None:
        """Drop the audio not yet committed (and the utterance in progress)."""
        self._tape.forget(self._tape.end)
        self._speculation = None
        self.reconfigure(self.config)

    async def close(self) -> None:
        """Finish the utterance in progress, deliver every final, then end `events()`."""
        if self._closed:
            return
        await self.commit()
        self._closed = True
        await self._finals.put(None)
        await self._emitting()
        self._stop_partial()
        await self._events.put(None)

    async def abort(self) -> None:
        """The client has gone: stop at once. Decodes still waiting for the job queue never
        run; one already running finishes in its thread, and its text is dropped."""
        self._closed = True
        self._stop_partial()
        for task in list(self._decodes):
            task.cancel()
        emitter = self._emitting()
        emitter.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await emitter
        await self._events.put(None)

    async def events(self) -> AsyncIterator[Event]:
        while (event := await self._events.get()) is not None:
            yield event

    # -- endpointing ----------------------------------------------------------------------

    def _sample(self, frame: int) -> int:
        return (self._frame_base + frame) * FRAME

    def _seconds(self, frame: int) -> float:
        return self._sample(frame) / SAMPLE_RATE

    def _pause_stop(self) -> int:
        assert self.config.endpointing and self._endpointer
        tail = self.config.endpointing.tail_ms * SAMPLE_RATE // 1000
        return min(self._tape.end, self._sample(self._endpointer.end) + tail)

    def _on_mark(self, mark: Mark) -> None:
        assert self.config.endpointing and self._endpointer
        ep = self._endpointer
        if mark is Mark.START:
            padding = self.config.endpointing.prefix_padding_ms * SAMPLE_RATE // 1000
            self._begin = max(self._tape.start, self._sample(ep.start) - padding)
            self._start_utterance(self._seconds(ep.start))
        elif mark is Mark.SETTLED:
            stop = self._pause_stop()
            self._speculation = (stop, self._decode(self._begin, stop, partial=False))
        elif mark is Mark.RESUME:
            self._resume()
        elif mark is Mark.END:
            self._finish(self._sample(ep.end), self._pause_stop())
        elif mark is Mark.CUT:
            cut = self._sample(ep.end)
            self._finish(cut, cut)
            self._begin = cut
            self._start_utterance(cut / SAMPLE_RATE)

    def _start_utterance(self, at: float) -> None:
        self._agreement.reset()
        self._partial_at = self._tape.end
        self._put(SpeechStarted(self.item, at))

    def _resume(self) -> None:
        """Speech went on after a pause: the speculative decode is a partial after all."""
        if self._speculation is None:
            return
        item, (_, task) = self.item, self._speculation
        self._speculation = None
        task.add_done_callback(lambda t: self._hypothesis(item, t))

    def _finish(self, speech_end: int, stop: int) -> int:
        """Queue the final of the current utterance, ending at `stop`; returns its item."""
        item = self.item
        if self._endpointer is not None:
            self._put(SpeechStopped(item, speech_end / SAMPLE_RATE))
        speculated = self._speculation
        self._speculation = None
        if speculated is not None and speculated[0] == stop:
            text = speculated[1]
        else:
            text = self._decode(self._begin, stop, partial=False)
        self._finals.put_nowait(_Utterance(item, self._begin, stop, text))
        self._emitting()
        self.item += 1
        self._begin = stop
        self._tape.forget(stop)
        self._stop_partial()
        return item

    def _forget_idle(self) -> None:
        """While nobody speaks keep only what prefix padding may need."""
        rules = self.config.endpointing
        # The padding before the first speech frame, which is found min_speech_ms late.
        ms = rules.prefix_padding_ms + rules.min_speech_ms if rules else 0
        keep = ms * SAMPLE_RATE // 1000 + 4 * FRAME
        self._tape.forget(self._tape.end - keep)
        self._begin = max(self._begin, self._tape.start)

    async def _check_buffer(self) -> None:
        if self.buffered_seconds < self.config.buffer_seconds:
            return
        self._put(BufferLimit(round(self.buffered_seconds, 3)))
        await self.commit()

    # -- decoding -------------------------------------------------------------------------

    def _decode(self, start: int, stop: int, partial: bool) -> asyncio.Task[str]:
        audio = self._tape.slice(start, stop)
        task = asyncio.create_task(self.engine.transcribe(audio, partial))
        self._decodes.add(task)
        task.add_done_callback(self._decodes.discard)
        return task

    def _maybe_partial(self) -> None:
        ep = self._endpointer
        if not self.config.partials or ep is None or not ep.speaking or ep.paused:
            return
        if self._partial is not None and not self._partial.done():
            return
        if self._tape.end - self._partial_at < self.config.partial_interval * SAMPLE_RATE:
            return
        if self.engine.busy():
            return
        self._partial_at = self._tape.end
        self._partial = asyncio.create_task(self._run_partial(self.item))

    async def _run_partial(self, item: int) -> None:
        task = self._decode(self._begin, self._tape.end, partial=True)
        await asyncio.wait([task])
        self._hypothesis(item, task)

    def _hypothesis(self, item: int, task: asyncio.Task[str]) -> None:
        if not task.done() or task.cancelled() or task.exception() is not None:
            return
        if item != self.item or not self.speaking or self._closed:
            return
        new = self._agreement.update(task.result())
        if new:
            self._put(Partial(item, self._agreement.text, " ".join(new)))

    def _stop_partial(self) -> None:
        if self._partial is not None:
            self._partial.cancel()
            self._partial = None

    def _emitting(self) -> asyncio.Task[None]:
        if self._emitter is None:
            self._emitter = asyncio.create_task(self._emit_finals())
        return self._emitter

    async def _emit_finals(self) -> None:
        while (utterance := await self._finals.get()) is not None:
            try:
                text = (await utterance.text).strip()
            except Exception as exc:
                log.warning("live transcription failed: %s", exc)
                self._put(Failed(utterance.item, str(exc) or exc.__class__.__name__))
                continue
            start, stop = utterance.start / SAMPLE_RATE, utterance.stop / SAMPLE_RATE
            self._put(Final(utterance.item, text, round(start, 3), round(stop, 3)))

    def _put(self, event: Event) -> None:
        self._events.put_nowait(event)
