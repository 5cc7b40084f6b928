"""One Wyoming connection: events in, dispatched to its speech-to-text and text-to-speech
state; events out. The connection stays open across requests, as long as the client keeps it;
unknown events are ignored, as Wyoming servers do (a newer client may send them)."""

from __future__ import annotations

import asyncio
import logging

from vocalis.errors import VocalisError
from vocalis.server.deps import Services
from vocalis.wyoming import speech, transcription
from vocalis.wyoming.info import describe
from vocalis.wyoming.protocol import (
    AsyncEventHandler,
    Describe,
    Event,
    Ping,
    Pong,
    error_event,
    parse,
)
from vocalis.wyoming.speech import Speech
from vocalis.wyoming.transcription import Transcriptions

log = logging.getLogger(__name__)


class InternalError(VocalisError):
    error_type = "server_error"
    code = "internal_error"


class Connection(AsyncEventHandler):
    def __init__(
        self,
        services: Services,
        connections: set[asyncio.Task[None]],
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        super().__init__(reader, writer)
        self.services = services
        self.connections = connections
        self.asr = Transcriptions(services, self.send)
        self.tts = Speech(services, self.send)

    async def run(self) -> None:
        """Until the client closes, or breaks the framing (then the connection is closed)."""
        task = asyncio.current_task()
        if task is not None:
            self.connections.add(task)
        try:
            await super().run()
        except Exception as exc:
            # handle_event answers its own failures, so this is the framing (a truncated
            # payload, a header without `type`), after which nothing more can be read.
            log.info("Wyoming connection closed: %r", exc)
        finally:
            if task is not None:
                self.connections.discard(task)

    async def handle_event(self, event: Event) -> bool:
        try:
            await self._dispatch(event)
        except VocalisError as exc:
            await self.send(error_event(exc))
        except Exception as exc:
            log.exception("Wyoming event %s failed", event.type, exc_info=exc)
            await self.send(error_event(InternalError(f"The {event.type} event failed.")))
        return True

    async def _dispatch(self, event: Event) -> None:
        if Describe.is_type(event.type):
            info = await asyncio.to_thread(describe, self.services.stt, self.services.tts)
            await self.send(info.event())
        elif Ping.is_type(event.type):
            await self.send(Pong(text=parse(Ping.from_event, event).text).event())
        elif event.type in transcription.TYPES:
            await self.asr.handle(event)
        elif event.type in speech.TYPES:
            await self.tts.handle(event)
        else:
            log.debug("ignoring Wyoming event %s", event.type)

    async def send(self, event: Event) -> None:
        """Writes `event`; a client that has gone is noticed by the reader, not here."""
        if self.writer.is_closing():
            return
        try:
            await self.write_event(event)
        except ConnectionError:
            log.debug("Wyoming client gone before %s", event.type)

    async def disconnect(self) -> None:
        await self.tts.close()
