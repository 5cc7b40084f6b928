"""Text to speech over Wyoming: `synthesize` -> `audio-start`, `audio-chunk`s, `audio-stop`; and
the streamed form, `synthesize-start`, `synthesize-chunk`s, `synthesize-stop` -> the same audio
events, sentence by sentence as the text arrives, then `synthesize-stopped`.

Sentences and synthesis are the live core's (`Utterance`); this module only translates. One
connection speaks one request at a time, in a task, so the connection keeps reading: text
chunks reach the utterance while it speaks, and a client that leaves is noticed and its
synthesis stopped (through an anyio cancel scope, which waits for the piece a worker thread is
making, so the job slot is held exactly as long as the thread works).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from contextlib import aclosing
from dataclasses import dataclass, field

import anyio

from vocalis.errors import InvalidRequest, VocalisError
from vocalis.live.speech import Utterance
from vocalis.server.deps import Services
from vocalis.tts.base import Voice
from vocalis.tts.service import SpeechRequest
from vocalis.wyoming.protocol import (
    AudioChunk,
    AudioStart,
    AudioStop,
    Event,
    Synthesize,
    SynthesizeChunk,
    SynthesizeStart,
    SynthesizeStop,
    SynthesizeStopped,
    error_event,
    parse,
    text_field,
)

log = logging.getLogger(__name__)
access_log = logging.getLogger("vocalis.access")

Send = Callable[[Event], Awaitable[None]]
TYPES = frozenset({"synthesize", "synthesize-start", "synthesize-chunk", "synthesize-stop"})
# Without a voice: the server's default for OpenAI's first voice, as the seeds' POST /tts.
DEFAULT_VOICE = "alloy"


class SpeechFailed(VocalisError):
    error_type = "server_error"
    code = "speech_failed"


@dataclass(frozen=True)
class VoiceChoice:
    """A request's `voice`: the library drops `language` when a name is given; Vocalis keeps it."""

    name: str | None = None
    language: str | None = None
    speaker: str | None = None


@dataclass
class Stream:
    """A streamed request; `utterance` is None when it was refused (its error has gone)."""

    utterance: Utterance | None = None


@dataclass
class Speaking:
    request: SpeechRequest
    utterance: Utterance
    task: asyncio.Task[None] | None = None
    scope: anyio.CancelScope = field(default_factory=anyio.CancelScope)
    # Sent once the audio has gone (a stream's synthesize-stopped), unless cancelled.
    then: list[Event] = field(default_factory=list)

    @property
    def running(self) -> bool:
        return self.task is not None and not self.task.done()


class Speech:
    def __init__(self, services: Services, send: Send):
        self.services = services
        self.send = send
        self.stream: Stream | None = None
        self.speaking: Speaking | None = None

    async def handle(self, event: Event) -> None:
        """One of TYPES. What cannot be done is answered with an `error` event."""
        try:
            if Synthesize.is_type(event.type):
                # Inside a stream it repeats the streamed text for servers without streaming.
                if self.stream is None:
                    await self._whole(event)
            elif SynthesizeStart.is_type(event.type):
                await self._open(event)
            elif SynthesizeChunk.is_type(event.type):
                await self._add(parse(SynthesizeChunk.from_event, event).text)
            elif SynthesizeStop.is_type(event.type):
                await self._stop()
        except VocalisError as exc:
            await self.send(error_event(exc))

    async def close(self) -> None:
        """The client has gone: stop speaking."""
        speaking, self.speaking = self.speaking, None
        if speaking and speaking.task:
            speaking.utterance.stop()  # the piece being made ends now
            speaking.scope.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await speaking.task

    async def _whole(self, event: Event) -> None:
        text = text_field(parse(Synthesize.from_event, event).text, "text") or ""
        request = self._request(text, voice_choice(event))
        await self._wait()
        self._speak(Utterance.whole(self.services.tts, request, self.services.jobs.stream), request)

    async def _open(self, event: Event) -> None:
        """A new stream; one still open is finished first (its audio, then its stopped)."""
        parse(SynthesizeStart.from_event, event)
        if self.stream is not None:
            await self._stop()
        await self._wait()
        self.stream = stream = Stream()
        request = self._request("", voice_choice(event))
        stream.utterance = Utterance(self.services.tts, request, self.services.jobs.stream)
        self._speak(stream.utterance, request)

    async def _add(self, text: str) -> None:
        if self.stream is None:
            raise InvalidRequest(
                "A synthesize-chunk came without a synthesize-start.", code="no_request"
            )
        if self.stream.utterance is not None:
            await self.stream.utterance.add(text_field(text, "text") or "")

    async def _stop(self) -> None:
        """The stream's text is complete: its speaking task ends it with synthesize-stopped,
        without this connection waiting, so a client that leaves meanwhile is noticed."""
        stream, self.stream, speaking = self.stream, None, self.speaking
        if stream is None:
            raise InvalidRequest(
                "A synthesize-stop came without a synthesize-start.", code="no_request"
            )
        stopped = SynthesizeStopped().event()
        if stream.utterance is None or speaking is None or not speaking.running:
            await self.send(stopped)  # refused, or failed already: nothing more will come
            return
        stream.utterance.finish()
        speaking.then.append(stopped)

    def _request(self, text: str, voice: VoiceChoice) -> SpeechRequest:
        """Raises InvalidRequest (code unknown_voice), ModelNotFound, or ShuttingDown while the
        server drains (a stream that is open still finishes)."""
        if self.services.drain.draining:
            raise self.services.drain.refusal()
        tts = self.services.tts
        name = voice.name
        if not name and voice.language:
            name = voice_for_language(tts.voices(), voice.language)
            if name is None:
                raise InvalidRequest(
                    f"No voice of this server speaks '{voice.language}'.", code="unknown_voice"
                )
        if voice.speaker:  # every voice here has one speaker, as wyoming-piper warns and goes on
            log.debug("ignoring speaker %r of voice %r", voice.speaker, name)
        try:
            return tts.request(None, name or DEFAULT_VOICE, text, 1.0, voice.language)
        except InvalidRequest as exc:
            if exc.param != "voice":
                raise
            raise InvalidRequest(
                f"Unknown voice '{name}': describe lists the voices of this server.",
                code="unknown_voice",
            ) from None

    async def _wait(self) -> None:
        """Until the request being spoken has been spoken."""
        if self.speaking and self.speaking.task:
            await self.speaking.task

    def _speak(self, utterance: Utterance, request: SpeechRequest) -> None:
        self.speaking = speaking = Speaking(request, utterance)
        speaking.task = asyncio.create_task(self._audio(utterance, speaking))

    async def _audio(self, utterance: Utterance, speaking: Speaking) -> None:
        """The request's audio events, or an error."""
        started, out = time.perf_counter(), None
        with speaking.scope:
            try:
                jobs, tts = self.services.jobs, self.services.tts
                engine = await jobs.run(tts.pool.load, speaking.request.engine)
                out = AudioOut(self.send, engine.sample_rate)
                async with aclosing(utterance.frames()) as frames:
                    async for frame in frames:
                        await out.chunk(frame)
                await out.stop()
            except VocalisError as exc:
                await self.send(error_event(exc))
            except Exception as exc:
                log.exception("Wyoming speech failed", exc_info=exc)
                await self.send(error_event(SpeechFailed("Speech synthesis failed.")))
        _log(speaking, out.seconds if out else 0.0, started)
        if not speaking.scope.cancel_called:
            for event in speaking.then:
                await self.send(event)


class AudioOut:
    """One request's audio events: audio-start just before the first chunk, so it says that
    audio is ready (or before audio-stop, when there was nothing to say)."""

    def __init__(self, send: Send, rate: int):
        self.send = send
        self.rate = rate
        self.started = False
        self.bytes = 0

    async def chunk(self, pcm: bytes) -> None:
        await self._start()
        await self.send(AudioChunk(rate=self.rate, width=2, channels=1, audio=pcm).event())
        self.bytes += len(pcm)

    async def stop(self) -> None:
        await self._start()
        await self.send(AudioStop().event())

    @property
    def seconds(self) -> float:
        return self.bytes / 2 / self.rate

    async def _start(self) -> None:
        if not self.started:
            self.started = True
            await self.send(AudioStart(rate=self.rate, width=2, channels=1).event())


def voice_choice(event: Event) -> VoiceChoice:
    voice = event.data.get("voice") or {}
    if not isinstance(voice, dict):
        raise InvalidRequest("'voice' must be an object.", code="malformed_event")
    return VoiceChoice(
        name=text_field(voice.get("name"), "voice.name"),
        language=text_field(voice.get("language"), "voice.language"),
        speaker=text_field(voice.get("speaker"), "voice.speaker"),
    )


def voice_for_language(voices: list[Voice], language: str) -> str | None:
    """The first voice that speaks `language` ("en_US", "en-us"), else the first that speaks
    its primary language ("en"), else None."""
    wanted = _tag(language)
    primary = wanted.split("-")[0]
    exact = (v.id for v in voices if _tag(v.language) == wanted)
    close = (v.id for v in voices if _tag(v.language).split("-")[0] == primary)
    return next(exact, None) or next(close, None)


def _tag(language: str) -> str:
    return language.strip().lower().replace("_", "-")


def _log(speaking: Speaking, audio_seconds: float, started: float) -> None:
    access_log.info(
        json.dumps(
            {
                "event": "wyoming_speech",
                "engine": speaking.request.engine,
                "voice": speaking.request.options.voice,
                "audio_seconds": round(audio_seconds, 3),
                "processing_seconds": round(time.perf_counter() - started, 3),
                "cancelled": speaking.scope.cancel_called,
            }
        )
    )
