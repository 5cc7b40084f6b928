"""The Realtime API's wire messages for transcription sessions, GA and beta alike.

Client events are parsed into small pydantic models; fields they do not name are ignored,
since newer SDKs send more than a transcription session uses. Server events are small
dataclasses whose frames carry exactly the fields the SDK's types require. These are the
wire's own types: the adapter translates the live core's events into them.
"""

from __future__ import annotations

import enum
import json
import secrets
from dataclasses import asdict, dataclass, field
from typing import Annotated, Any, ClassVar, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from vocalis.errors import InvalidRequest, VocalisError

T = TypeVar("T")


class Dialect(enum.Enum):
    GA = "ga"
    BETA = "beta"  # the `OpenAI-Beta: realtime=v1` header


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(10)}"


class BadEvent(InvalidRequest):
    """A client event the server cannot use; `event_id` is the client's, when it gave one."""

    def __init__(self, message: str, *, code: str, param: str | None, event_id: str | None):
        super().__init__(message, param=param, code=code)
        self.event_id = event_id


# -- client events -----------------------------------------------------------------------


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Format(_Wire):
    type: str | None = None
    rate: int | None = None


class Transcription(_Wire):
    model: str | None = None
    language: str | None = None
    prompt: str | None = None


class TurnDetection(_Wire):
    type: str | None = None
    threshold: float | None = None
    prefix_padding_ms: int | None = None
    silence_duration_ms: int | None = None


class AudioInput(_Wire):
    format: Format | None = None
    transcription: Transcription | None = None
    turn_detection: TurnDetection | None = None


class Audio(_Wire):
    input: AudioInput | None = None


class GaSession(_Wire):
    """`session.update`'s session in the GA shape: `{"type": "transcription", "audio": ...}`."""

    type: str | None = None
    audio: Audio | None = None


class BetaSession(_Wire):
    """`transcription_session.update`'s session (and beta `session.update`'s)."""

    input_audio_format: str | None = None
    input_audio_transcription: Transcription | None = None
    turn_detection: TurnDetection | None = None


class _ClientEvent(_Wire):
    event_id: str | None = None


class Append(_ClientEvent):
    type: Literal["input_audio_buffer.append"]
    audio: str


class Commit(_ClientEvent):
    type: Literal["input_audio_buffer.commit"]


class Clear(_ClientEvent):
    type: Literal["input_audio_buffer.clear"]


class SessionUpdate(_ClientEvent):
    type: Literal["session.update", "transcription_session.update"]
    session: dict[str, Any]

    @property
    def beta(self) -> bool:
        """The beta shape: `transcription_session.update`, or a session without GA's keys."""
        return self.type == "transcription_session.update" or not (
            {"type", "audio"} & self.session.keys()
        )


ClientEvent = Append | Commit | Clear | SessionUpdate
_CLIENT_EVENT: TypeAdapter[ClientEvent] = TypeAdapter(
    Annotated[ClientEvent, Field(discriminator="type")]
)
SUPPORTED = (
    "session.update",
    "transcription_session.update",
    "input_audio_buffer.append",
    "input_audio_buffer.commit",
    "input_audio_buffer.clear",
)


def parse(text: str) -> ClientEvent:
    """Raises BadEvent for anything that is not one of `SUPPORTED`, well formed."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise BadEvent(
            f"The message is not valid JSON: {exc}.", code="invalid_json", param=None, event_id=None
        ) from None
    if not isinstance(data, dict):
        raise BadEvent(
            "Client events must be JSON objects.", code="invalid_json", param=None, event_id=None
        )
    event_id = data.get("event_id") if isinstance(data.get("event_id"), str) else None
    kind = data.get("type")
    if kind is None:
        raise _missing("type", event_id)
    if kind not in SUPPORTED:
        supported = ", ".join(f"'{name}'" for name in SUPPORTED)
        raise BadEvent(
            f"Invalid value: '{kind}'. A transcription session supports {supported}.",
            code="invalid_value",
            param="type",
            event_id=event_id,
        )
    return validate(_CLIENT_EVENT, data, event_id)


def validate(adapter: TypeAdapter[T], data: Any, event_id: str | None, at: str = "") -> T:
    """`data` as `adapter`'s type; BadEvent naming the first field that does not fit."""
    try:
        return adapter.validate_python(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        path = ".".join(str(part) for part in error["loc"] if part not in SUPPORTED)
        param = f"{at}.{path}".strip(".") or None
        if error["type"] == "missing":
            raise _missing(param, event_id) from None
        raise BadEvent(
            f"Invalid '{param}': {error['msg']}.",
            code="invalid_value",
            param=param,
            event_id=event_id,
        ) from None


def _missing(param: str | None, event_id: str | None) -> BadEvent:
    return BadEvent(
        f"Missing required parameter: '{param}'.",
        code="missing_required_parameter",
        param=param,
        event_id=event_id,
    )


GA_SESSION: TypeAdapter[GaSession] = TypeAdapter(GaSession)
BETA_SESSION: TypeAdapter[BetaSession] = TypeAdapter(BetaSession)


# -- server events -----------------------------------------------------------------------


@dataclass(frozen=True)
class ServerEvent:
    type: ClassVar[str]

    def frame(self) -> dict[str, Any]:
        return {"type": self.type, "event_id": new_id("event"), **asdict(self)}


@dataclass(frozen=True)
class SessionCreated(ServerEvent):
    type: ClassVar[str] = "session.created"
    session: dict[str, Any]


@dataclass(frozen=True)
class SessionUpdated(ServerEvent):
    type: ClassVar[str] = "session.updated"
    session: dict[str, Any]


@dataclass(frozen=True)
class TranscriptionSessionCreated(ServerEvent):
    type: ClassVar[str] = "transcription_session.created"
    session: dict[str, Any]


@dataclass(frozen=True)
class TranscriptionSessionUpdated(ServerEvent):
    type: ClassVar[str] = "transcription_session.updated"
    session: dict[str, Any]


@dataclass(frozen=True)
class SpeechStarted(ServerEvent):
    type: ClassVar[str] = "input_audio_buffer.speech_started"
    audio_start_ms: int
    item_id: str


@dataclass(frozen=True)
class SpeechStopped(ServerEvent):
    type: ClassVar[str] = "input_audio_buffer.speech_stopped"
    audio_end_ms: int
    item_id: str


@dataclass(frozen=True)
class Committed(ServerEvent):
    type: ClassVar[str] = "input_audio_buffer.committed"
    item_id: str
    previous_item_id: str | None


@dataclass(frozen=True)
class Cleared(ServerEvent):
    type: ClassVar[str] = "input_audio_buffer.cleared"


@dataclass(frozen=True)
class UserAudio:
    """The user message item a commit makes: its audio, transcribed separately."""

    id: str
    object: str = "realtime.item"
    type: str = "message"
    role: str = "user"
    status: str = "completed"
    content: list[dict[str, Any]] = field(
        default_factory=lambda: [{"type": "input_audio", "transcript": None}]
    )


@dataclass(frozen=True)
class ItemCreated(ServerEvent):
    """Beta's name for a committed item."""

    type: ClassVar[str] = "conversation.item.created"
    item: UserAudio
    previous_item_id: str | None


@dataclass(frozen=True)
class ItemAdded(ServerEvent):
    """GA's: the item is added, then done at once (a user's audio is complete when committed)."""

    type: ClassVar[str] = "conversation.item.added"
    item: UserAudio
    previous_item_id: str | None


@dataclass(frozen=True)
class ItemDone(ServerEvent):
    type: ClassVar[str] = "conversation.item.done"
    item: UserAudio
    previous_item_id: str | None


def item_events(dialect: Dialect, item_id: str, previous: str | None) -> list[ServerEvent]:
    """What announces a committed item: the commit, then the item as the dialect names it."""
    item = UserAudio(item_id)
    events: list[ServerEvent] = [Committed(item_id, previous)]
    if dialect is Dialect.BETA:
        return [*events, ItemCreated(item, previous)]
    return [*events, ItemAdded(item, previous), ItemDone(item, previous)]


@dataclass(frozen=True)
class TranscriptionDelta(ServerEvent):
    type: ClassVar[str] = "conversation.item.input_audio_transcription.delta"
    item_id: str
    delta: str
    content_index: int = 0


@dataclass(frozen=True)
class Usage:
    seconds: float
    type: str = "duration"


@dataclass(frozen=True)
class TranscriptionCompleted(ServerEvent):
    type: ClassVar[str] = "conversation.item.input_audio_transcription.completed"
    item_id: str
    transcript: str
    usage: Usage
    content_index: int = 0


@dataclass(frozen=True)
class ErrorDetail:
    type: str
    code: str | None
    message: str
    param: str | None
    event_id: str | None  # the client event that caused it


@dataclass(frozen=True)
class TranscriptionFailed(ServerEvent):
    type: ClassVar[str] = "conversation.item.input_audio_transcription.failed"
    item_id: str
    error: ErrorDetail
    content_index: int = 0


@dataclass(frozen=True)
class Error(ServerEvent):
    type: ClassVar[str] = "error"
    error: ErrorDetail

    @classmethod
    def of(cls, exc: VocalisError, event_id: str | None = None) -> Error:
        return cls(ErrorDetail(exc.error_type, exc.code, exc.message, exc.param, event_id))
