"""A transcription session's effective settings: updated by GA and beta session objects,
rendered back in either shape. Pure: the adapter checks the model and builds the engine.

A session object names only what it changes: an omitted field keeps its value, and a
`turn_detection` of null turns server VAD off (the client commits each turn). Noise
reduction and `include` are accepted and left out of the effective session, since Vocalis
does neither; `semantic_vad` is served by server VAD with its current rules.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TypeVar

from vocalis.errors import InvalidRequest
from vocalis.server.realtime.events import BetaSession, GaSession, Transcription, TurnDetection
from vocalis.stt.service import OPENAI_STT_MODELS

RATE = 24_000  # the Realtime API's PCM rate; GA sessions may name another
# Beta's session type admits only these model names.
BETA_MODEL = "whisper-1"

GA_INPUT = "session.audio.input"
# Where each shape names the transcription, for errors about its model or language.
GA_TRANSCRIPTION = f"{GA_INPUT}.transcription"
BETA_TRANSCRIPTION = "session.input_audio_transcription"

T = TypeVar("T")


@dataclass(frozen=True)
class Vad:
    threshold: float
    prefix_padding_ms: int
    silence_duration_ms: int


@dataclass(frozen=True)
class Settings:
    rate: int = RATE
    model: str | None = None  # as the client named it; None: the server's default
    language: str | None = None
    prompt: str | None = None
    vad: Vad | None = None  # None: the client commits each turn

    @property
    def transcriber(self) -> tuple[str | None, str | None, str | None]:
        """What the engine depends on: a change needs a new one."""
        return self.model, self.language, self.prompt


def vocalis_model(name: str | None) -> str | None:
    """The model to resolve for a name a client gives: None for the default."""
    if not name or name.strip().lower() in OPENAI_STT_MODELS:
        return None
    return name


# -- updates ---------------------------------------------------------------------------


def update_ga(current: Settings, session: GaSession, defaults: Vad) -> Settings:
    if session.type not in (None, "transcription"):
        raise InvalidRequest(
            f"Unsupported session type '{session.type}': Vocalis serves transcription sessions "
            "only; connect with ?intent=transcription and send type 'transcription'.",
            param="session.type",
        )
    audio = session.audio.input if session.audio else None
    if audio is None:
        return current
    settings = current
    if audio.format is not None:
        settings = replace(settings, rate=_ga_rate(audio.format.type, audio.format.rate))
    if "transcription" in audio.model_fields_set:
        settings = _transcription(settings, audio.transcription)
    if "turn_detection" in audio.model_fields_set:
        vad = _vad(settings.vad or defaults, audio.turn_detection, f"{GA_INPUT}.turn_detection")
        settings = replace(settings, vad=vad)
    return settings


def update_beta(current: Settings, session: BetaSession, defaults: Vad) -> Settings:
    settings = current
    if session.input_audio_format is not None:
        _beta_format(session.input_audio_format)
        settings = replace(settings, rate=RATE)
    if "input_audio_transcription" in session.model_fields_set:
        settings = _transcription(settings, session.input_audio_transcription)
    if "turn_detection" in session.model_fields_set:
        vad = _vad(settings.vad or defaults, session.turn_detection, "session.turn_detection")
        settings = replace(settings, vad=vad)
    return settings


def _ga_rate(kind: str | None, rate: int | None) -> int:
    if kind not in (None, "audio/pcm"):
        raise InvalidRequest(
            f"Unsupported audio format '{kind}': Vocalis takes 'audio/pcm' (16-bit mono PCM).",
            param=f"{GA_INPUT}.format.type",
        )
    return RATE if rate is None else rate


def _beta_format(kind: str) -> None:
    if kind != "pcm16":
        raise InvalidRequest(
            f"Unsupported input_audio_format '{kind}': Vocalis takes 'pcm16' (24 kHz mono).",
            param="session.input_audio_format",
        )


def _transcription(settings: Settings, given: Transcription | None) -> Settings:
    if given is None:  # null: back to the defaults
        return replace(settings, model=None, language=None, prompt=None)
    fields = given.model_fields_set
    return replace(
        settings,
        model=given.model if "model" in fields else settings.model,
        language=given.language if "language" in fields else settings.language,
        prompt=given.prompt if "prompt" in fields else settings.prompt,
    )


def _vad(current: Vad, given: TurnDetection | None, param: str) -> Vad | None:
    if given is None:
        return None
    if given.type not in (None, "server_vad", "semantic_vad"):
        raise InvalidRequest(
            f"Unsupported turn_detection type '{given.type}': use 'server_vad', or null to "
            "commit each turn yourself.",
            param=f"{param}.type",
        )
    vad = Vad(
        threshold=_pick(given.threshold, current.threshold),
        prefix_padding_ms=_pick(given.prefix_padding_ms, current.prefix_padding_ms),
        silence_duration_ms=_pick(given.silence_duration_ms, current.silence_duration_ms),
    )
    if not 0 <= vad.threshold <= 1:
        raise InvalidRequest("threshold must be between 0 and 1.", param=f"{param}.threshold")
    for name in ("prefix_padding_ms", "silence_duration_ms"):
        if not 0 <= getattr(vad, name) <= 10_000:
            raise InvalidRequest(f"{name} must be 0-10000 ms.", param=f"{param}.{name}")
    return vad


def _pick(given: T | None, current: T) -> T:
    return current if given is None else given


# -- renderings ------------------------------------------------------------------------


def ga_session(settings: Settings, session_id: str, model: str) -> dict[str, object]:
    """The GA transcription session object; `model` names the one in use."""
    return {
        "type": "transcription",
        "id": session_id,
        "object": "realtime.transcription_session",
        "audio": {
            "input": {
                "format": {"type": "audio/pcm", "rate": settings.rate},
                "transcription": _transcription_object(settings, model),
                "turn_detection": _turn_detection(settings.vad),
                "noise_reduction": None,
            }
        },
        "include": None,
    }


def beta_session(settings: Settings, session_id: str) -> dict[str, object]:
    """The beta transcription session object. Its type requires a `client_secret`; Vocalis
    issues none, so it is empty."""
    return {
        "id": session_id,
        "object": "realtime.transcription_session",
        "client_secret": {"value": "", "expires_at": 0},
        "modalities": ["text"],
        "input_audio_format": "pcm16",
        "input_audio_transcription": _transcription_object(settings, BETA_MODEL),
        "turn_detection": _turn_detection(settings.vad),
        "input_audio_noise_reduction": None,
        "include": None,
    }


def _transcription_object(settings: Settings, default: str) -> dict[str, object]:
    return {
        "model": settings.model or default,
        "language": settings.language,
        "prompt": settings.prompt,
    }


def _turn_detection(vad: Vad | None) -> dict[str, object] | None:
    if vad is None:
        return None
    return {
        "type": "server_vad",
        "threshold": vad.threshold,
        "prefix_padding_ms": vad.prefix_padding_ms,
        "silence_duration_ms": vad.silence_duration_ms,
    }
