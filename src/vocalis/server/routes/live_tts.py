"""`WS /ws/tts`: live speech out in the gateway seed's protocol, over the live core.

Client: JSON text frames. `{"text", "voice", "speed", "model", "language"}` is a whole request,
spoken at once. With `"flush": false` the text is appended to the open request (opening one)
and each sentence is spoken as soon as it is complete; `"flush": true` or `{"type": "end"}`
speaks the rest. `{"type": "cancel"}`, or any new request, stops the current one at once.
Server, per request: `{"type": "start", "sample_rate", "channels": 1, "format": "s16le"}`,
binary PCM frames, then `{"type": "end"}` (with `"cancelled": true` when stopped early).
A message it cannot use gets `{"type": "error", "error": {...}}` and changes nothing.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from contextlib import aclosing
from dataclasses import dataclass, field

import anyio
from fastapi import APIRouter, WebSocket
from starlette.types import Message
from starlette.websockets import WebSocketDisconnect

from vocalis.errors import InvalidRequest, ServerBusy, VocalisError
from vocalis.live.speech import Utterance
from vocalis.server.deps import Services
from vocalis.server.drain import Receiver
from vocalis.server.routes.live_tts_messages import (
    Cancel,
    ClientMessage,
    End,
    Ended,
    Speak,
    Start,
    binary_refused,
    error_frame,
    parse,
)
from vocalis.server.wire import CLOSE_TOO_BIG, CLOSE_TRY_LATER, Wire
from vocalis.tts.service import SpeechRequest

router = APIRouter()
log = logging.getLogger(__name__)
access_log = logging.getLogger("vocalis.access")


class SpeechFailed(VocalisError):
    error_type = "server_error"
    code = "speech_failed"


@router.websocket("/ws/tts")
async def live_tts(websocket: WebSocket) -> None:
    services: Services = websocket.app.state.services
    await websocket.accept()
    wire = Wire(websocket)
    try:
        with services.live.hold():
            await Connection(wire, services).serve()
    except ServerBusy as exc:  # only the cap on live sessions: the rest is answered in frames
        await wire.send(error_frame(exc))
        await wire.close(CLOSE_TRY_LATER, exc.message[:120])


@dataclass
class Speaking:
    """The request being spoken; `open` while it still takes text.

    Stopped through an anyio cancel scope, not `Task.cancel`: the scope waits for a piece that
    a worker thread is synthesizing, so the engine's generator is closed only once it is idle
    and the job slot is held as long as the thread works.
    """

    utterance: Utterance
    open: bool
    scope: anyio.CancelScope = field(default_factory=anyio.CancelScope)

    @property
    def stopped(self) -> bool:
        return self.scope.cancel_called

    def stop(self) -> None:
        """Nothing more of it is sent, and the piece being made ends now."""
        self.scope.cancel()
        self.utterance.stop()


class Connection:
    """One client's connection: at most one request spoken at a time, in its own task."""

    def __init__(self, wire: Wire, services: Services):
        self.wire = wire
        self.services = services
        self.max_bytes = services.settings.live_max_message_kb * 1024
        self.idle_timeout = services.settings.live_idle_timeout
        self.speaking: Speaking | None = None
        self.tasks: set[asyncio.Task[None]] = set()
        self.last_active = time.monotonic()
        self.receiver = Receiver(wire.websocket, services.drain)

    async def serve(self) -> None:
        try:
            while (message := await self._receive()) is not None:
                if not await self._frame(message):
                    return
            if self.services.drain.draining:
                await self._say_the_rest()
        finally:
            self.receiver.close()
            if self.speaking:
                self.speaking.stop()
            await asyncio.gather(*self.tasks, return_exceptions=True)

    async def _say_the_rest(self) -> None:
        """The server is going away: finish what was asked, then close with 1001."""
        self._finish()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await self.wire.close(self.receiver.close_code, "server shutting down")

    async def _receive(self) -> Message | None:
        """The next frame; None when the client has gone, the server drains, or the client
        was idle too long (then closed)."""
        while (left := self.last_active + self.idle_timeout - time.monotonic()) > 0:
            try:
                message = await self.receiver.next(left)
            except TimeoutError:
                continue
            self.last_active = time.monotonic()
            if message is None or message["type"] == "websocket.disconnect":
                return None
            return message
        idle = f"Closed after {self.idle_timeout:g} s without a message or audio."
        await self.wire.send(error_frame(InvalidRequest(idle, code="idle_timeout")))
        await self.wire.close(1000, "idle")
        return None

    async def _frame(self, message: Message) -> bool:
        """Handles one frame; False when the connection was closed for it."""
        data: str | bytes = message["text"] if message.get("text") is not None else message["bytes"]
        if _size(data) > self.max_bytes:
            limit = f"Messages may be at most {self.max_bytes // 1024} KB."
            await self.wire.close(CLOSE_TOO_BIG, limit)
            return False
        try:
            if isinstance(data, bytes):
                raise binary_refused()
            await self._handle(parse(data))
        except VocalisError as exc:
            await self.wire.send(error_frame(exc))
        return True

    async def _handle(self, message: ClientMessage) -> None:
        if isinstance(message, Cancel):
            await self._cancel()
        elif isinstance(message, End):
            self._finish()
        elif message.flush is None:
            await self._start(message, whole=True)
        else:
            await self._append(message)

    async def _append(self, message: Speak) -> None:
        speaking = self.speaking
        if speaking is None or not speaking.open:
            if message.flush and not message.text:
                return  # nothing open, nothing to say
            speaking = await self._start(message, whole=False)
        await speaking.utterance.add(message.text or "")
        if message.flush:
            self._finish()

    async def _start(self, message: Speak, whole: bool) -> Speaking:
        """Validates first: a request that is refused leaves the current one speaking."""
        tts = self.services.tts
        request = tts.request(
            message.model, message.voice_id, message.text or "", message.speed, message.language
        )
        await self._cancel()
        if whole:
            utterance = Utterance.whole(tts, request, self.services.jobs.stream)
        else:
            utterance = Utterance(tts, request, self.services.jobs.stream)
        self.speaking = speaking = Speaking(utterance, open=not whole)
        task = asyncio.create_task(self._speak(speaking, request))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return speaking

    def _finish(self) -> None:
        if self.speaking and self.speaking.open:
            self.speaking.utterance.finish()
            self.speaking.open = False

    async def _cancel(self) -> None:
        speaking, self.speaking = self.speaking, None
        if speaking is None:
            return
        speaking.stop()  # its task sends nothing more
        await self.wire.send(Ended(cancelled=True).frame())

    async def _speak(self, speaking: Speaking, request: SpeechRequest) -> None:
        """The task of one request: start, its audio, end. Its scope is cancelled to stop it."""
        started, rate, sent = time.perf_counter(), 0, 0
        with speaking.scope:
            try:
                engine = await self.services.jobs.run(self.services.tts.pool.load, request.engine)
                rate = engine.sample_rate
                await self.wire.send(Start(rate).frame())
                async with aclosing(speaking.utterance.frames()) as frames:
                    async for frame in frames:
                        if speaking.stopped:  # cancelled while its thread made this frame
                            break
                        await self.wire.send(frame)
                        sent += len(frame)
                        self.last_active = time.monotonic()
            except WebSocketDisconnect:
                return
            except VocalisError as exc:
                await self.wire.send(error_frame(exc))
            except Exception as exc:
                log.exception("live speech failed", exc_info=exc)
                await self.wire.send(error_frame(SpeechFailed("Speech synthesis failed.")))
        _log(request, sent / 2 / rate if rate else 0.0, started, speaking.stopped)
        if speaking.stopped:
            return  # its cancelled end frame has gone already
        if self.speaking is speaking:
            self.speaking = None
        await self.wire.send(Ended().frame())


def _size(data: str | bytes) -> int:
    return len(data) if isinstance(data, bytes) or data.isascii() else len(data.encode())


def _log(request: SpeechRequest, audio_seconds: float, started: float, cancelled: bool) -> None:
    access_log.info(
        json.dumps(
            {
                "event": "live_speech",
                "engine": request.engine,
                "voice": request.options.voice,
                "audio_seconds": round(audio_seconds, 3),
                "processing_seconds": round(time.perf_counter() - started, 3),
                "cancelled": cancelled,
            }
        )
    )
