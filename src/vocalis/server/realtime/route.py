"""`WS /v1/realtime`: OpenAI Realtime transcription sessions, a thin adapter over the live core.

Both SDK clients connect here: GA (`client.realtime.connect(extra_query={"intent":
"transcription"})`) and beta (`client.beta.realtime.connect(...)`, which sends the
`OpenAI-Beta: realtime=v1` header). The header picks how the server names its events:
`session.created` and `conversation.item.added`/`.done` for GA, `transcription_session.created`
and `conversation.item.created` for beta. Audio is base64 PCM16 (24 kHz unless a GA session
names another rate); with server VAD the core finds each turn, without it the client commits.

Frames leave through one `Outbox` in the order they are decided, whether the receive loop
(replies, errors, manual commits) or the event pump (the core's events) decided them.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
from typing import Any

from fastapi import APIRouter, WebSocket

from vocalis.audio.decode import Samples
from vocalis.errors import InvalidRequest, ModelNotFound, ServerBusy, VocalisError
from vocalis.live import events as core
from vocalis.live.audio import PcmInput
from vocalis.live.engine import ModelEngine
from vocalis.live.session import LiveConfig, LiveSession
from vocalis.server.deps import Services
from vocalis.server.drain import Receiver
from vocalis.server.live import endpointing, engine, live_config
from vocalis.server.realtime import events as wire
from vocalis.server.realtime.events import Dialect, ServerEvent
from vocalis.server.realtime.session import (
    BETA_TRANSCRIPTION,
    GA_INPUT,
    GA_TRANSCRIPTION,
    Settings,
    Vad,
    beta_session,
    ga_session,
    update_beta,
    update_ga,
    vocalis_model,
)
from vocalis.server.wire import CLOSE_POLICY, CLOSE_TOO_BIG, CLOSE_TRY_LATER, Wire

router = APIRouter()
log = logging.getLogger(__name__)

# OpenAI refuses to commit less than this; Whisper has nothing to say about it either.
MIN_COMMIT_SECONDS = 0.1


@router.websocket("/v1/realtime")
async def realtime(websocket: WebSocket) -> None:
    services: Services = websocket.app.state.services
    await websocket.accept()
    beta = "realtime=v1" in websocket.headers.get("openai-beta", "")
    dialect = Dialect.BETA if beta else Dialect.GA
    socket = Wire(websocket)
    try:
        with services.live.hold():
            model = _query_model(services, websocket.query_params.get("model"))
            await Connection(socket, services, dialect, model).serve()
    except VocalisError as exc:  # the session cap, or a server without its default model
        await socket.send(wire.Error.of(exc).frame())
        code = CLOSE_TRY_LATER if isinstance(exc, ServerBusy) else CLOSE_POLICY
        await socket.close(code, exc.message[:120])


def _query_model(services: Services, name: str | None) -> str | None:
    """The URL's `model` when it is a transcription model; beta clients must name one, and
    may name a conversation model there, which a transcription session has no use for."""
    if vocalis_model(name) is None:
        return name
    try:
        services.stt.resolve(name)
    except ModelNotFound:
        return None
    return name


class Outbox:
    """Frames leave one at a time, in the order they were put, from any task."""

    def __init__(self, socket: Wire):
        self.socket = socket
        self._frames: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        self._writer = asyncio.create_task(self._write())

    def put(self, *events: ServerEvent) -> None:
        for event in events:
            self._frames.put_nowait(event.frame())

    async def close(self) -> None:
        """Send what is queued, then stop."""
        self._frames.put_nowait(None)
        await self._writer

    def cancel(self) -> None:
        self._writer.cancel()

    async def _write(self) -> None:
        while (frame := await self._frames.get()) is not None:
            try:
                await self.socket.send(frame)
            except Exception as exc:  # the client has gone: the receive loop will see it
                log.debug("realtime send failed: %s", exc)
                return


class Items:
    """The wire's item ids for the core's item numbers, and the order of commits."""

    def __init__(self, dialect: Dialect):
        self.dialect = dialect
        self._ids: dict[int, str] = {}
        self._committed: set[int] = set()
        self._last: str | None = None

    def id(self, item: int) -> str:
        if item not in self._ids:
            self._ids[item] = wire.new_id("item")
        return self._ids[item]

    def commit(self, item: int) -> list[ServerEvent]:
        """The events announcing `item` as committed; none if it already was."""
        if item in self._committed:
            return []
        self._committed.add(item)
        previous, self._last = self._last, self.id(item)
        return wire.item_events(self.dialect, self._last, previous)

    def forget(self, item: int) -> None:
        """An utterance cleared before its commit: the next one gets a new id."""
        if item not in self._committed:
            self._ids.pop(item, None)

    def done(self, item: int) -> None:
        self._ids.pop(item, None)
        self._committed.discard(item)


class Connection:
    def __init__(self, socket: Wire, services: Services, dialect: Dialect, model: str | None):
        self.socket = socket
        self.websocket = socket.websocket
        self.services = services
        self.settings = services.settings
        self.dialect = dialect
        self.id = wire.new_id("sess")
        self.defaults = Vad(
            self.settings.live_vad_threshold,
            self.settings.live_prefix_padding_ms,
            self.settings.live_silence_ms,
        )
        self.config = Settings(model=model, vad=self.defaults)
        self.pcm = PcmInput(self.config.rate)
        self.session = LiveSession(
            self._engine(self.config, GA_TRANSCRIPTION), self._live(self.config)
        )
        self.items = Items(dialect)
        self.out = Outbox(socket)
        self.max_bytes = self.settings.live_max_message_kb * 1024
        self.receiver = Receiver(self.websocket, services.drain)

    async def serve(self) -> None:
        self.out.put(self._created())
        pump = asyncio.create_task(self._pump())
        try:
            if await self._receive_all():
                await self.session.close()
                await pump
                await self.out.close()
                await self.socket.close(self.receiver.close_code)
            else:
                await self.session.abort()
        finally:
            pump.cancel()
            self.out.cancel()
            self.receiver.close()

    # -- from the client ------------------------------------------------------------------

    async def _receive_all(self) -> bool:
        """Until the client vanishes (False), or idles out or the server drains (True: answer
        what is pending)."""
        while True:
            try:
                message = await self.receiver.next(self.settings.live_idle_timeout)
            except TimeoutError:
                idle = f"Closed after {self.settings.live_idle_timeout:g} s without an event."
                self.out.put(wire.Error.of(InvalidRequest(idle, code="idle_timeout")))
                return True
            if message is None:
                return True
            if message["type"] == "websocket.disconnect":
                return False
            text = message.get("text")
            if text is None:
                text = (message.get("bytes") or b"").decode("utf-8", "replace")
            if len(text) > self.max_bytes:
                await self.out.close()
                limit = f"Events may be at most {self.max_bytes // 1024} KB."
                await self.socket.close(CLOSE_TOO_BIG, limit)
                return False
            await self._handle(text)

    async def _handle(self, text: str) -> None:
        try:
            event = wire.parse(text)
        except wire.BadEvent as exc:
            self.out.put(wire.Error.of(exc, exc.event_id))
            return
        try:
            await self._dispatch(event)
        except VocalisError as exc:
            self.out.put(wire.Error.of(exc, event.event_id))

    async def _dispatch(self, event: wire.ClientEvent) -> None:
        if isinstance(event, wire.Append):
            await self.session.append(self._samples(event.audio))
        elif isinstance(event, wire.Commit):
            await self._commit()
        elif isinstance(event, wire.Clear):
            self.session.clear()
            self.items.forget(self.session.item)
            self.out.put(wire.Cleared())
        else:
            self._update(event)

    def _samples(self, audio: str) -> Samples:
        try:
            data = base64.b64decode("".join(audio.split()), validate=True)
        except binascii.Error:
            raise InvalidRequest(
                "Invalid 'audio': expected base64-encoded PCM16 audio.", param="audio"
            ) from None
        try:
            return self.pcm.convert(data)
        except ValueError as exc:
            raise InvalidRequest(f"Invalid 'audio': {exc}.", param="audio") from None

    async def _commit(self) -> None:
        manual = self.session.config.endpointing is None
        buffered = self.session.buffered_seconds
        item = None if manual and buffered < MIN_COMMIT_SECONDS else await self.session.commit()
        if item is None:
            raise InvalidRequest(
                "Error committing input audio buffer: buffer too small. Expected at least "
                f"{MIN_COMMIT_SECONDS * 1000:g} ms of audio, but the buffer has "
                f"{buffered * 1000:.0f} ms" + ("." if manual else " and no speech in progress."),
                code="input_audio_buffer_commit_empty",
            )
        if manual:  # with VAD the core's SpeechStopped announces it
            self.out.put(*self.items.commit(item))

    def _update(self, event: wire.SessionUpdate) -> None:
        """Check the whole update first: a bad one changes nothing."""
        beta = event.beta
        config = self._updated_config(event, beta)
        changed = config.transcriber != self.config.transcriber
        where = BETA_TRANSCRIPTION if beta else GA_TRANSCRIPTION
        new_engine = self._engine(config, where) if changed else self.session.engine
        pcm = _pcm_input(config.rate) if config.rate != self.config.rate else self.pcm
        live = self._live(config)
        # Checked: now apply it.
        self.session.engine, self.pcm, self.config = new_engine, pcm, config
        if live != self.session.config:
            self.session.reconfigure(live)
        self.out.put(self._updated(event.type, beta))

    def _updated_config(self, event: wire.SessionUpdate, beta: bool) -> Settings:
        if beta:
            shape = wire.validate(wire.BETA_SESSION, event.session, event.event_id, "session")
            return update_beta(self.config, shape, self.defaults)
        given = wire.validate(wire.GA_SESSION, event.session, event.event_id, "session")
        return update_ga(self.config, given, self.defaults)

    # -- to the client --------------------------------------------------------------------

    async def _pump(self) -> None:
        async for event in self.session.events():
            self.out.put(*self._translate(event))

    def _translate(self, event: core.Event) -> list[ServerEvent]:
        if isinstance(event, core.SpeechStarted):
            return [wire.SpeechStarted(_ms(event.at), self.items.id(event.item))]
        if isinstance(event, core.SpeechStopped):
            stopped = wire.SpeechStopped(_ms(event.at), self.items.id(event.item))
            return [stopped, *self.items.commit(event.item)]
        if isinstance(event, core.Partial):
            delta = event.delta if event.text == event.delta else f" {event.delta}"
            return [wire.TranscriptionDelta(self.items.id(event.item), delta)]
        if isinstance(event, core.Final | core.Failed):
            return self._result(event)
        return []  # BufferLimit: the core commits it, and its Final announces the item

    def _result(self, event: core.Final | core.Failed) -> list[ServerEvent]:
        # Committed already, unless the core cut a manual buffer at its limit.
        events = self.items.commit(event.item)
        item_id = self.items.id(event.item)
        self.items.done(event.item)
        if isinstance(event, core.Final):
            usage = wire.Usage(round(event.duration, 3))
            return [*events, wire.TranscriptionCompleted(item_id, event.text, usage)]
        failed = VocalisError(f"Transcription failed: {event.message}", code="transcription_failed")
        detail = wire.ErrorDetail("server_error", failed.code, failed.message, None, None)
        return [*events, wire.TranscriptionFailed(item_id, detail)]

    # -- the session ----------------------------------------------------------------------

    def _created(self) -> ServerEvent:
        if self.dialect is Dialect.BETA:
            return wire.TranscriptionSessionCreated(beta_session(self.config, self.id))
        return wire.SessionCreated(self._ga_session())

    def _updated(self, kind: str, beta: bool) -> ServerEvent:
        if kind == "transcription_session.update":
            return wire.TranscriptionSessionUpdated(beta_session(self.config, self.id))
        session = beta_session(self.config, self.id) if beta else self._ga_session()
        return wire.SessionUpdated(session)

    def _ga_session(self) -> dict[str, object]:
        model = self.config.model or self.services.stt.default_model
        return ga_session(self.config, self.id, model)

    def _engine(self, config: Settings, where: str) -> ModelEngine:
        """Raises ModelNotFound or InvalidRequest, naming the field at `where`."""
        try:
            return engine(
                self.services.stt,
                self.services.jobs,
                vocalis_model(config.model),
                config.language,
                config.prompt,
            )
        except VocalisError as exc:
            exc.param = f"{where}.{exc.param}" if exc.param else where
            raise

    def _live(self, config: Settings) -> LiveConfig:
        vad = config.vad
        if vad is None:
            return live_config(self.settings, None)
        rules = endpointing(
            self.settings, vad.threshold, vad.silence_duration_ms, vad.prefix_padding_ms
        )
        return live_config(self.settings, rules)


def _pcm_input(rate: int) -> PcmInput:
    try:
        return PcmInput(rate)
    except ValueError as exc:
        raise InvalidRequest(
            f"Unsupported sample rate: {exc}.", param=f"{GA_INPUT}.format.rate"
        ) from None


def _ms(seconds: float) -> int:
    return round(seconds * 1000)
