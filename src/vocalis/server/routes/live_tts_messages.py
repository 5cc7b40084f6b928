"""The wire messages of `WS /ws/tts`: what a client may send, and the frames the server sends.

Parsing is pure: a text frame in, a message or an `InvalidRequest` out, whose envelope is the
error frame. Fields and limits match POST /v1/audio/speech (`text` plays `input`).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from vocalis.errors import InvalidRequest, VocalisError
from vocalis.server.routes.speech import VoiceId


class Speak(BaseModel):
    """Text to speak. No `flush`: a whole request. `flush` false: more text for the open
    request (opening one if needed); true: the same, then speak the rest and end it."""

    # POST /v1/audio/speech's limit: one message's text is synthesized as a whole, and an
    # unbounded one held a job slot for minutes.
    text: str | None = Field(None, max_length=4096)
    voice: str | VoiceId = "alloy"
    model: str | None = None
    speed: float = Field(1.0, ge=0.25, le=4.0)
    language: str | None = None
    flush: bool | None = None

    @property
    def voice_id(self) -> str:
        return self.voice.id if isinstance(self.voice, VoiceId) else self.voice


@dataclass(frozen=True)
class Cancel:
    """Stop the current request at once."""


@dataclass(frozen=True)
class End:
    """No more text for the open request: speak the rest (as `"flush": true`)."""


ClientMessage = Speak | Cancel | End
_COMMANDS: dict[str, ClientMessage] = {"cancel": Cancel(), "end": End()}


def parse(text: str) -> ClientMessage:
    """One text frame as a message; raises InvalidRequest, the error frame to answer with."""
    data = _json_object(text)
    kind = data.pop("type", None)
    if kind is not None:
        return _command(kind)
    try:
        speak = Speak.model_validate(data)
    except ValidationError as exc:
        raise _invalid(exc) from None
    if speak.flush is None:
        _check_whole(speak.text)
    return speak


def _check_whole(text: str | None) -> None:
    if text is None:
        raise InvalidRequest("Missing required parameter: 'text'.", param="text")
    if not text.strip():
        raise InvalidRequest("The text is empty.", param="text")


def _json_object(text: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise InvalidRequest(
            f"The message is not valid JSON: {exc}.", code="invalid_json"
        ) from None
    if not isinstance(data, dict):
        raise InvalidRequest("A message must be a JSON object.", code="invalid_json")
    return data


def _command(kind: object) -> ClientMessage:
    if isinstance(kind, str) and kind in _COMMANDS:
        return _COMMANDS[kind]
    raise InvalidRequest(
        f"Unknown message type {json.dumps(kind)}: expected 'cancel' or 'end', "
        "or no type for text to speak.",
        param="type",
        code="unknown_type",
    )


def _invalid(exc: ValidationError) -> InvalidRequest:
    first = exc.errors()[0]
    param = str(first["loc"][0]) if first["loc"] else None
    return InvalidRequest(f"Invalid value for '{param}': {first['msg']}.", param=param)


def binary_refused() -> InvalidRequest:
    return InvalidRequest(
        "Binary frames are not accepted: send JSON text frames.", code="unsupported_frame"
    )


# -- what the server sends ------------------------------------------------------------------


@dataclass(frozen=True)
class Start:
    """A request's audio follows as binary frames: mono 16-bit little-endian PCM."""

    sample_rate: int
    channels: int = 1
    format: str = "s16le"

    def frame(self) -> dict[str, Any]:
        return {"type": "start", **asdict(self)}


@dataclass(frozen=True)
class Ended:
    """The request's last frame. `cancelled`: stopped by the client before it was all said."""

    cancelled: bool = False

    def frame(self) -> dict[str, Any]:
        return {"type": "end", "cancelled": True} if self.cancelled else {"type": "end"}


def error_frame(exc: VocalisError) -> dict[str, Any]:
    return {"type": "error", **exc.envelope()}
