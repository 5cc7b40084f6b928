"""OpenAI's voice names mapped to real voices, and Kokoro voice facts read from their names."""

from __future__ import annotations

import re

from vocalis.tts.base import Voice

OPENAI_VOICES = (
    "alloy", "ash", "ballad", "coral", "echo", "fable", "onyx",
    "nova", "sage", "shimmer", "verse", "marin", "cedar",
)  # fmt: skip

# OpenAI name -> Kokoro voice, chosen for a similar timbre and gender; Kokoro ships some
# of the same names. Overridable per name with VOCALIS_VOICE_MAP.
KOKORO_FOR_OPENAI = {
    "alloy": "af_alloy",
    "ash": "am_adam",
    "ballad": "bm_lewis",
    "coral": "af_heart",
    "echo": "am_echo",
    "fable": "bm_fable",
    "onyx": "am_onyx",
    "nova": "af_nova",
    "sage": "af_sarah",
    "shimmer": "af_bella",
    "verse": "am_michael",
    "marin": "af_jessica",
    "cedar": "am_eric",
}
# Piper has one built-in voice; every OpenAI name speaks with it unless mapped otherwise.
PIPER_DEFAULT_VOICE = "en_US-joe-medium"

KOKORO_LANGUAGES = {
    "a": "en-US", "b": "en-GB", "e": "es-ES", "f": "fr-FR", "h": "hi-IN",
    "i": "it-IT", "j": "ja-JP", "p": "pt-BR", "z": "zh-CN",
}  # fmt: skip
KOKORO_GENDERS = {"f": "female", "m": "male"}
# A language (BCP-47, lower case) -> the espeak-ng language Kokoro phonemizes with. A tag not
# listed whole falls back to its primary subtag: "fr-CA" -> "fr" -> "fr-fr".
KOKORO_ESPEAK = {
    "en": "en-us", "en-us": "en-us", "en-gb": "en-gb", "es": "es", "fr": "fr-fr", "hi": "hi",
    "it": "it", "ja": "ja", "pt": "pt-br", "zh": "cmn", "cmn": "cmn",
}  # fmt: skip

_BLEND_PART = re.compile(r"^\s*([a-z]{2}_[a-z0-9]+)\s*(?:\(\s*([0-9]*\.?[0-9]+)\s*\))?\s*$")


def kokoro_voice(name: str) -> Voice:
    """A Kokoro voice's language and gender are its first two letters: af_heart, bm_george."""
    return Voice(
        id=name,
        name=name.split("_", 1)[1].replace("_", " ").title(),
        language=KOKORO_LANGUAGES.get(name[0], "en-US"),
        gender=KOKORO_GENDERS.get(name[1], "unknown"),
        model="kokoro",
    )


def espeak_language(language: str) -> str:
    """espeak-ng's name for a language Kokoro speaks: "en" -> "en-us", "zh-CN" -> "cmn".

    Raises ValueError for a language Kokoro does not speak.
    """
    tag = language.strip().lower().replace("_", "-")
    found = KOKORO_ESPEAK.get(tag) or KOKORO_ESPEAK.get(tag.split("-")[0])
    if found is None:
        supported = ", ".join(sorted(KOKORO_ESPEAK))
        raise ValueError(f"Kokoro does not speak '{language}'; it speaks {supported}.")
    return found


def parse_blend(voice: str) -> list[tuple[str, float]] | None:
    """`af_bella(2)+af_heart(1)` -> [(af_bella, 2.0), (af_heart, 1.0)]; None if not that form."""
    parts = []
    for piece in voice.split("+"):
        match = _BLEND_PART.match(piece)
        if match is None:
            return None
        weight = float(match.group(2)) if match.group(2) else 1.0
        parts.append((match.group(1), weight))
    if sum(weight for _, weight in parts) <= 0:
        return None
    return parts


TTS_ALIASES = frozenset({"tts-1", "tts-1-hd", "gpt-4o-mini-tts"})


def choose_voice(
    model: str | None,
    voice: str,
    *,
    piper_voices: frozenset[str],
    kokoro_voices: frozenset[str],
    kokoro_available: bool,
    voice_map: dict[str, str] | None = None,
) -> tuple[str, str]:
    """(engine, engine voice) for a request's `model` and `voice`.

    `model` is "piper", "kokoro", an OpenAI alias or None; with an alias or None the voice
    decides. OpenAI voice names go to Kokoro when it is installed, else to Piper.
    Raises LookupError (unknown voice) or ValueError (voice and model disagree).
    """
    engine = model if model in ("piper", "kokoro") else None
    name = voice.strip()
    if name.lower() in OPENAI_VOICES:
        name = name.lower()
        engine = engine or ("kokoro" if kokoro_available else "piper")
        mapped = (voice_map or {}).get(name)
        if mapped and _engine_of(mapped, piper_voices, kokoro_voices) == engine:
            return engine, mapped
        return engine, KOKORO_FOR_OPENAI[name] if engine == "kokoro" else PIPER_DEFAULT_VOICE
    owner = _engine_of(name, piper_voices, kokoro_voices)
    if owner is None:
        raise LookupError(name)
    if engine is not None and owner != engine:
        raise ValueError(f"The voice '{name}' belongs to {owner}, not {engine}.")
    return owner, name


def _engine_of(voice: str, piper: frozenset[str], kokoro: frozenset[str]) -> str | None:
    if voice in piper:
        return "piper"
    blend = parse_blend(voice)
    if blend and all(part in kokoro for part, _ in blend):
        return "kokoro"
    return None
