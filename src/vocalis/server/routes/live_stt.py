"""`WS /ws/stt`: live transcription in the real-time seed's protocol, over the live core.

Client: binary frames of PCM16LE mono (16 kHz, or `sample_rate`), text frames
`{"type": "flush"}` and `{"type": "close"}`. Query: `sample_rate`, `language`, `model`,
`partials`, `vad` (false: only a flush ends an utterance).
Server: `{"type": "partial", "text"}` while someone speaks, `{"type": "transcript", "text",
"duration", "keep_open": true}` per utterance, `{"type": "buffer_limit_reached", "duration"}`,
and `{"type": "error", "error": {message, type, code, param}}` for anything it cannot use.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, WebSocket
from starlette.datastructures import QueryParams

from vocalis.errors import InvalidRequest, ServerBusy, VocalisError
from vocalis.live.audio import PcmInput
from vocalis.live.events import BufferLimit, Event, Failed, Final, Partial
from vocalis.live.session import LiveSession
from vocalis.server.deps import Services
from vocalis.server.drain import Receiver
from vocalis.server.live import endpointing, engine, live_config
from vocalis.server.wire import CLOSE_POLICY, CLOSE_TOO_BIG, CLOSE_TRY_LATER, Wire

router = APIRouter()


@dataclass(frozen=True)
class Query:
    sample_rate: int
    language: str | None
    model: str | None
    partials: bool
    vad: bool


@router.websocket("/ws/stt")
async def live_stt(websocket: WebSocket) -> None:
    services: Services = websocket.app.state.services
    await websocket.accept()
    wire = Wire(websocket)
    try:
        query = parse_query(websocket.query_params)
        pcm = pcm_input(query.sample_rate)
        rules = endpointing(services.settings) if query.vad else None
        stt_engine = engine(services.stt, services.jobs, query.model, query.language)
        with services.live.hold():
            session = LiveSession(stt_engine, live_config(services.settings, rules, query.partials))
            await Connection(wire, session, pcm, services).serve()
    except VocalisError as exc:
        await wire.error(exc)
        code = CLOSE_TRY_LATER if isinstance(exc, ServerBusy) else CLOSE_POLICY
        await wire.close(code, exc.message[:120])


def parse_query(params: QueryParams) -> Query:
    return Query(
        sample_rate=_integer(params, "sample_rate", 16_000),
        language=params.get("language") or None,
        model=params.get("model") or None,
        partials=flag(params, "partials", True),
        vad=flag(params, "vad", True),
    )


def _integer(params: QueryParams, name: str, default: int) -> int:
    value = params.get(name)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        raise InvalidRequest(f"'{name}' must be an integer, got '{value}'.", param=name) from None


def flag(params: QueryParams, name: str, default: bool) -> bool:
    value = params.get(name)
    if value is None:
        return default
    if value.lower() in ("true", "1", "yes"):
        return True
    if value.lower() in ("false", "0", "no"):
        return False
    raise InvalidRequest(f"'{name}' must be true or false, got '{value}'.", param=name)


def pcm_input(rate: int) -> PcmInput:
    try:
        return PcmInput(rate)
    except ValueError as exc:
        raise InvalidRequest(f"Unsupported sample_rate: {exc}.", param="sample_rate") from None


class Connection:
    def __init__(self, wire: Wire, session: LiveSession, pcm: PcmInput, services: Services):
        self.wire = wire
        self.session = session
        self.pcm = pcm
        self.settings = services.settings
        self.max_bytes = services.settings.live_max_message_kb * 1024
        self.receiver = Receiver(wire.websocket, services.drain)

    async def serve(self) -> None:
        pump = asyncio.create_task(self._pump())
        try:
            if await self._receive_all():
                await self.session.close()
                await pump
                await self.wire.close(self.receiver.close_code)
            else:
                await self.session.abort()
        finally:
            pump.cancel()
            self.receiver.close()

    async def _receive_all(self) -> bool:
        """Until the client closes or the server drains (True: answer what is pending), or
        the client vanishes (False)."""
        while True:
            try:
                message = await self.receiver.next(self.settings.live_idle_timeout)
            except TimeoutError:
                idle = f"Closed after {self.settings.live_idle_timeout:g} s without a message."
                await self.wire.error(InvalidRequest(idle, code="idle_timeout"))
                return True
            if message is None:
                return True
            if message["type"] == "websocket.disconnect":
                return False
            data = message.get("bytes")
            text = message.get("text") or ""
            if len(data if data is not None else text) > self.max_bytes:
                limit = f"Messages may be at most {self.max_bytes // 1024} KB."
                await self.wire.close(CLOSE_TOO_BIG, limit)
                return False
            if data is not None:
                await self._audio(data)
            elif await self._command(text):
                return True

    async def _audio(self, data: bytes) -> None:
        try:
            samples = self.pcm.convert(data)
        except ValueError as exc:
            await self.wire.error(InvalidRequest(f"Bad audio frame: {exc}.", code="invalid_audio"))
            return
        await self.session.append(samples)

    async def _command(self, text: str) -> bool:
        """True when the client asked to close."""
        kind = _command_type(text)
        if kind == "flush":
            await self.session.commit()
        elif kind == "close":
            return True
        else:
            await self.wire.error(_unknown(kind))
        return False

    async def _pump(self) -> None:
        async for event in self.session.events():
            frame = to_frame(event)
            if frame is not None:
                await self.wire.send(frame)


def _command_type(text: str) -> str | None:
    try:
        message = json.loads(text)
    except ValueError:
        return None
    kind = message.get("type") if isinstance(message, dict) else None
    return kind if isinstance(kind, str) else None


def _unknown(kind: str | None) -> InvalidRequest:
    if kind is None:
        return InvalidRequest(
            'Text frames must be JSON objects with a "type": "flush" or "close".',
            code="invalid_json",
        )
    return InvalidRequest(
        f"Unknown message type '{kind}': expected 'flush' or 'close'.", code="unknown_type"
    )


def to_frame(event: Event) -> dict[str, Any] | None:
    if isinstance(event, Final):
        if not event.text:
            return None  # noise that held no words
        duration = round(event.duration, 2)
        return {"type": "transcript", "text": event.text, "duration": duration, "keep_open": True}
    if isinstance(event, Partial):
        return {"type": "partial", "text": event.text}
    if isinstance(event, BufferLimit):
        return {"type": "buffer_limit_reached", "duration": event.duration}
    if isinstance(event, Failed):
        failed = VocalisError(f"Transcription failed: {event.message}", code="transcription_failed")
        return {"type": "error", **failed.envelope()}
    return None
