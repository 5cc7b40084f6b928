"""Speech to text over Wyoming: `transcribe`, `audio-start`, `audio-chunk`s, `audio-stop` ->
`transcript-start`, `transcript-chunk`s, `transcript`, `transcript-stop`.

One connection's state, kept apart from the shared models: at most one request open. A
request that fails answers one `error` and swallows the rest of its audio until its
`audio-stop`, so a client streaming in a bad format gets one error, not one per chunk.
The decode is the live core's final decode (text only, the short-audio path), through the
job queue in a worker thread, waiting for a slot however long the queue: a spoken command
that was accepted is never dropped.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from vocalis.errors import InvalidRequest, VocalisError
from vocalis.live.engine import ModelEngine
from vocalis.server.deps import Services
from vocalis.server.live import engine
from vocalis.stt.languages import LANGUAGES
from vocalis.tts.text import split_sentences
from vocalis.wyoming.audio import AudioIn
from vocalis.wyoming.protocol import (
    AudioChunk,
    AudioStart,
    AudioStop,
    Event,
    Transcribe,
    Transcript,
    TranscriptChunk,
    TranscriptStart,
    TranscriptStop,
    error_event,
    parse,
    text_field,
)

log = logging.getLogger(__name__)
access_log = logging.getLogger("vocalis.access")

Send = Callable[[Event], Awaitable[None]]
TYPES = frozenset({"transcribe", "audio-start", "audio-chunk", "audio-stop"})


@dataclass
class Request:
    engine: ModelEngine
    language: str | None
    audio: AudioIn | None = None


class Transcriptions:
    def __init__(self, services: Services, send: Send):
        self.services = services
        self.send = send
        self.request: Request | None = None
        self.failed = False

    async def handle(self, event: Event) -> None:
        """One of TYPES. Errors are answered with an `error` event and fail the request."""
        try:
            if Transcribe.is_type(event.type):
                self._transcribe(parse(Transcribe.from_event, event))
            elif AudioStart.is_type(event.type):
                self._start(parse(AudioStart.from_event, event))
            elif AudioChunk.is_type(event.type):
                self._chunk(parse(AudioChunk.from_event, event))
            elif AudioStop.is_type(event.type):
                await self._stop()
        except VocalisError as exc:
            # The request is over; until its audio-stop (unless this was it) the rest of its
            # audio is swallowed: its client hears one error, not one per chunk.
            self.request, self.failed = None, not AudioStop.is_type(event.type)
            await self.send(error_event(exc))

    def _transcribe(self, transcribe: Transcribe) -> None:
        """A new request; one still open is dropped (its client has moved on)."""
        self.request, self.failed = None, False
        self.request = self._new(transcribe.name, transcribe.language)

    def _start(self, start: AudioStart) -> None:
        if self.failed:
            return
        request = self.request or self._new(None, None)
        request.audio = AudioIn(start, self.services.settings.live_buffer_seconds)
        self.request = request

    def _chunk(self, chunk: AudioChunk) -> None:
        if self.failed:
            return
        if self.request is None:
            raise InvalidRequest(
                "An audio-chunk came without a transcribe or audio-start before it.",
                code="no_request",
            )
        if self.request.audio is None:  # transcribe, then chunks: they carry their format
            self.request.audio = AudioIn(chunk, self.services.settings.live_buffer_seconds)
        self.request.audio.add(chunk)

    async def _stop(self) -> None:
        request, failed = self.request, self.failed
        self.request, self.failed = None, False
        if failed:
            return  # its error has been sent
        if request is None:
            raise InvalidRequest(
                "An audio-stop came without a transcribe or audio-start before it.",
                code="no_request",
            )
        started = time.perf_counter()
        audio = request.audio.samples() if request.audio else None
        # No audio at all: an empty transcript, as wyoming-faster-whisper answers.
        text = await request.engine.transcribe(audio, partial=False) if audio is not None else ""
        for event in transcript_events(text, request.language):
            await self.send(event)
        _log(request, started)

    def _new(self, name: str | None, language: str | None) -> Request:
        """Raises ModelNotFound or InvalidRequest for a model or language this server lacks,
        and ShuttingDown while the server drains (what is open still finishes)."""
        if self.services.drain.draining:
            raise self.services.drain.refusal()
        code = whisper_language(text_field(language, "language"))
        stt_engine = engine(self.services.stt, self.services.jobs, text_field(name, "name"), code)
        return Request(stt_engine, stt_engine.options.language)


def whisper_language(tag: str | None) -> str | None:
    """A Whisper code for a language tag: Home Assistant may send "en-US" or "de_DE"."""
    if not tag:
        return None
    code = tag.strip().lower().replace("_", "-")
    return code if code in LANGUAGES else code.split("-")[0]


def transcript_events(text: str, language: str | None) -> list[Event]:
    """The streaming events around `transcript`, in the protocol's order; the chunks are the
    text's sentences, which joined give the text."""
    sentences = split_sentences(text)
    chunks = [sentence if i == 0 else " " + sentence for i, sentence in enumerate(sentences)]
    return [
        TranscriptStart(language=language).event(),
        *(TranscriptChunk(text=chunk).event() for chunk in chunks),
        Transcript(text=text, language=language).event(),
        TranscriptStop().event(),
    ]


def _log(request: Request, started: float) -> None:
    access_log.info(
        json.dumps(
            {
                "event": "wyoming_transcript",
                "model": request.engine.spec.id,
                "language": request.language,
                "audio_seconds": round(request.audio.seconds if request.audio else 0.0, 3),
                "processing_seconds": round(time.perf_counter() - started, 3),
            }
        )
    )
