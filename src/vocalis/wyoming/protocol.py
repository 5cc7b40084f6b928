"""The wyoming library's wire messages, imported in one place, and the parse every event goes
through: a message that does not have the fields its type needs is an InvalidRequest."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import TypeVar

from vocalis.errors import InvalidRequest, VocalisError

with warnings.catch_warnings():
    # wyoming.audio (which wyoming.info imports) imports the standard library's audioop,
    # deprecated since Python 3.11; Vocalis never calls it (the live core converts audio).
    warnings.simplefilter("ignore", DeprecationWarning)
    from wyoming.asr import (
        Transcribe,
        Transcript,
        TranscriptChunk,
        TranscriptStart,
        TranscriptStop,
    )
    from wyoming.audio import AudioChunk, AudioFormat, AudioStart, AudioStop
    from wyoming.error import Error
    from wyoming.event import Event
    from wyoming.info import (
        AsrModel,
        AsrProgram,
        Attribution,
        Describe,
        Info,
        TtsProgram,
        TtsVoice,
    )
    from wyoming.ping import Ping, Pong
    from wyoming.server import AsyncEventHandler, AsyncServer, AsyncTcpServer
    from wyoming.tts import (
        Synthesize,
        SynthesizeChunk,
        SynthesizeStart,
        SynthesizeStop,
        SynthesizeStopped,
    )

__all__ = [
    "AsrModel",
    "AsrProgram",
    "AsyncEventHandler",
    "AsyncServer",
    "AsyncTcpServer",
    "Attribution",
    "AudioChunk",
    "AudioFormat",
    "AudioStart",
    "AudioStop",
    "Describe",
    "Error",
    "Event",
    "Info",
    "Ping",
    "Pong",
    "Synthesize",
    "SynthesizeChunk",
    "SynthesizeStart",
    "SynthesizeStop",
    "SynthesizeStopped",
    "Transcribe",
    "Transcript",
    "TranscriptChunk",
    "TranscriptStart",
    "TranscriptStop",
    "TtsProgram",
    "TtsVoice",
    "error_event",
    "parse",
    "text_field",
]

T = TypeVar("T")


def parse(from_event: Callable[[Event], T], event: Event) -> T:
    """`from_event(event)`, e.g. `parse(Transcribe.from_event, event)`; InvalidRequest when a
    field is missing or of the wrong kind (the library raises whatever its dict access does)."""
    try:
        return from_event(event)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise InvalidRequest(
            f"The {event.type} event is malformed: {exc!r}.", code="malformed_event"
        ) from None


def text_field(value: object, name: str) -> str | None:
    """An optional string field of an event, which the library passes through unchecked."""
    if value is None or isinstance(value, str):
        return value
    raise InvalidRequest(f"'{name}' must be a string, got {value!r}.", code="malformed_event")


def error_event(exc: VocalisError) -> Event:
    return Error(text=exc.message, code=exc.code).event()
