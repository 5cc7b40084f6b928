"""`WS /ws/chat`: a spoken conversation with the LLM, /ws/stt in and /ws/tts out.

Query: `sample_rate` (16000), `language`, `transcription_model`, `voice` (alloy), `model`
(the speech model), `speed`, `partials` (false), `vad` (true).
Client: binary frames of PCM16LE mono as /ws/stt; text frames `{"type": "text", "text"}` (a
typed turn), `{"type": "flush"}` (end the spoken turn now), `{"type": "cancel"}` (stop the
reply), `{"type": "reset"}` (forget the conversation), `{"type": "close"}`.
Server, per turn: `{"type": "transcript", "text", "duration"}` for a spoken one (and
`{"type": "partial", "text"}` before it with partials on), then the reply:
`{"type": "start", "sample_rate", "channels": 1, "format": "s16le"}`, `{"type":
"reply.delta", "delta"}` text frames and binary PCM frames as they are ready, and `{"type":
"end", "text"}` (`"cancelled": true` when stopped early). A new turn stops the reply in
progress. Errors: `{"type": "error", "error": {...}}`; the connection goes on.
The conversation is this connection's: each turn and (what was said of) its reply.
"""

from __future__ import annotations

import asyncio
import json
import logging
from contextlib import aclosing
from typing import Any

from fastapi import APIRouter, WebSocket
from starlette.datastructures import QueryParams

from vocalis.chat import Audio, ChatClient, Conversation, SpokenReply, TextDelta
from vocalis.errors import InvalidRequest, ServerBusy, VocalisError
from vocalis.live.audio import PcmInput
from vocalis.live.events import Final
from vocalis.live.session import LiveSession
from vocalis.server.deps import Services
from vocalis.server.live import endpointing, engine, live_config
from vocalis.server.routes import live_stt
from vocalis.server.routes.live_tts_messages import Ended, Start, error_frame
from vocalis.server.wire import CLOSE_POLICY, CLOSE_TRY_LATER, Wire
from vocalis.tts.service import SpeechRequest
from vocalis.tts.voices import kokoro_voice

router = APIRouter()
log = logging.getLogger(__name__)


@router.websocket("/ws/chat")
async def live_chat(websocket: WebSocket) -> None:
    services: Services = websocket.app.state.services
    await websocket.accept()
    wire = Wire(websocket)
    try:
        params = websocket.query_params
        query = live_stt.parse_query(params)
        speech = _speech(services, params)
        client = ChatClient.from_settings(services.settings)
        pcm = live_stt.pcm_input(query.sample_rate)
        rules = endpointing(services.settings) if query.vad else None
        stt = engine(services.stt, services.jobs, params.get("transcription_model"), query.language)
        partials = live_stt.flag(params, "partials", False)
        async with client:
            with services.live.hold():
                session = LiveSession(stt, live_config(services.settings, rules, partials))
                await ChatConnection(wire, session, pcm, services, client, speech).serve()
    except VocalisError as exc:
        await wire.error(exc)
        code = CLOSE_TRY_LATER if isinstance(exc, ServerBusy) else CLOSE_POLICY
        await wire.close(code, exc.message[:120])


def _speech(services: Services, params: QueryParams) -> SpeechRequest:
    speed = params.get("speed", "1")
    try:
        value = float(speed)
    except ValueError:
        raise InvalidRequest(f"'speed' must be a number, got '{speed}'.", param="speed") from None
    if not 0.25 <= value <= 4.0:
        raise InvalidRequest("'speed' must be between 0.25 and 4.", param="speed")
    voice = params.get("voice") or "alloy"
    language = params.get("language") or None
    return services.tts.request(params.get("model") or None, voice, "", value, language)


class ChatConnection(live_stt.Connection):
    """/ws/stt's connection (audio, endpointing, limits), each final turned into a reply."""

    def __init__(
        self,
        wire: Wire,
        session: LiveSession,
        pcm: PcmInput,
        services: Services,
        client: ChatClient,
        speech: SpeechRequest,
    ) -> None:
        super().__init__(wire, session, pcm, services)
        self.services = services
        self.client = client
        self.speech = speech
        self.conversation = Conversation(services.settings.llm_system_prompt)
        self.language = speech.options.language or (
            kokoro_voice(speech.options.voice).language if speech.engine == "kokoro" else "en"
        )
        self.turn: asyncio.Task[None] | None = None

    async def serve(self) -> None:
        try:
            await super().serve()
        finally:
            await self._stop_turn(report=False)

    async def _command(self, text: str) -> bool:
        """True when the client asked to close."""
        message = _message(text)
        kind = message.get("type") if message is not None else None
        if kind == "text":
            await self._text_turn(message)
        elif kind == "flush":
            await self.session.commit()
        elif kind == "cancel":
            await self._stop_turn(report=True)
        elif kind == "reset":
            await self._stop_turn(report=True)
            self.conversation.reset()
        elif kind == "close":
            return True
        else:
            await self.wire.error(_unknown(kind, message is None))
        return False

    async def _text_turn(self, message: dict[str, Any] | None) -> None:
        text = message.get("text") if message else None
        if not isinstance(text, str) or not text.strip():
            await self.wire.error(
                InvalidRequest("A text turn needs a non-empty 'text'.", param="text")
            )
            return
        await self._start_turn(text.strip())

    async def _pump(self) -> None:
        """The session's events: partials and transcripts out, each final a new turn; at the
        end (the client closed) the last reply is spoken to its end."""
        async for event in self.session.events():
            frame = live_stt.to_frame(event)
            if frame is not None:
                await self.wire.send(frame)
            if isinstance(event, Final) and event.text:
                await self._start_turn(event.text)
        if self.turn is not None:
            await asyncio.gather(self.turn, return_exceptions=True)

    async def _start_turn(self, text: str) -> None:
        await self._stop_turn(report=True)
        self.turn = asyncio.create_task(self._reply(text))

    async def _stop_turn(self, report: bool) -> None:
        turn, self.turn = self.turn, None
        if turn is None or turn.done():
            return
        turn.cancel()
        await asyncio.gather(turn, return_exceptions=True)
        if report:
            await self.wire.send(Ended(cancelled=True).frame())

    async def _reply(self, text: str) -> None:
        """One turn: the LLM's reply spoken, then kept in the conversation."""
        reply: SpokenReply | None = None
        services = self.services
        try:
            synthesizer = await services.jobs.run(services.tts.pool.load, self.speech.engine)
            completion = await self.client.start(self.conversation.ask(text))
            reply = SpokenReply(
                completion, services.tts, self.speech, services.jobs.stream, self.language
            )
            await self.wire.send(Start(synthesizer.sample_rate).frame())
            async with aclosing(reply.events()) as events:
                async for event in events:
                    await self._send(event)
        except VocalisError as exc:
            await self.wire.send(error_frame(exc))
        except Exception as exc:
            log.exception("voice loop failed", exc_info=exc)
            await self.wire.send(error_frame(VocalisError("The reply failed.", code="chat_failed")))
        finally:
            self.conversation.answered(text, reply.text if reply else "")
        if reply is not None:  # its start frame went out: close the turn
            await self.wire.send({"type": "end", "text": reply.text})

    async def _send(self, event: object) -> None:
        if isinstance(event, Audio):
            await self.wire.send(event.pcm)
        elif isinstance(event, TextDelta):
            await self.wire.send({"type": "reply.delta", "delta": event.text})


def _message(text: str) -> dict[str, Any] | None:
    try:
        message = json.loads(text)
    except ValueError:
        return None
    return message if isinstance(message, dict) else None


def _unknown(kind: object, not_json: bool) -> InvalidRequest:
    if not_json:
        return InvalidRequest(
            'Text frames must be JSON objects with a "type".', code="invalid_json"
        )
    return InvalidRequest(
        f"Unknown message type {json.dumps(kind)}: expected 'text', 'flush', 'cancel', "
        "'reset' or 'close'.",
        param="type",
        code="unknown_type",
    )
