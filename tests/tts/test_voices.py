"""Voice choice: OpenAI names, engine voices, blends, and what is refused."""

from __future__ import annotations

import pytest

from vocalis.tts.voices import (
    KOKORO_FOR_OPENAI,
    OPENAI_VOICES,
    PIPER_DEFAULT_VOICE,
    choose_voice,
    kokoro_voice,
    parse_blend,
)

PIPER = frozenset({"en_US-joe-medium", "en_GB-alan-low"})
KOKORO = frozenset({"af_heart", "af_bella", "am_adam", "bm_george", *KOKORO_FOR_OPENAI.values()})


def choose(
    model: str | None, voice: str, kokoro: bool = True, **kw: dict[str, str]
) -> tuple[str, str]:
    return choose_voice(
        model, voice, piper_voices=PIPER, kokoro_voices=KOKORO, kokoro_available=kokoro, **kw
    )


def test_every_openai_name_has_a_kokoro_voice() -> None:
    assert set(OPENAI_VOICES) == set(KOKORO_FOR_OPENAI)
    assert len(OPENAI_VOICES) == 13


@pytest.mark.parametrize("name", OPENAI_VOICES)
def test_openai_names_go_to_kokoro_when_installed(name: str) -> None:
    assert choose(None, name) == ("kokoro", KOKORO_FOR_OPENAI[name])


@pytest.mark.parametrize("name", OPENAI_VOICES)
def test_openai_names_fall_back_to_piper(name: str) -> None:
    assert choose("tts-1", name, kokoro=False) == ("piper", PIPER_DEFAULT_VOICE)


def test_engine_named_by_the_model_wins_for_openai_names() -> None:
    assert choose("piper", "nova") == ("piper", PIPER_DEFAULT_VOICE)
    assert choose("kokoro", "Nova") == ("kokoro", "af_nova")


def test_voice_map_overrides_within_the_engine() -> None:
    voice_map = {"alloy": "en_GB-alan-low", "echo": "am_adam"}
    assert choose("piper", "alloy", voice_map=voice_map) == ("piper", "en_GB-alan-low")
    assert choose(None, "echo", voice_map=voice_map) == ("kokoro", "am_adam")
    # A mapping to another engine's voice does not apply when the engine is fixed.
    assert choose("kokoro", "alloy", voice_map=voice_map) == ("kokoro", "af_alloy")


def test_engine_voices_pick_their_engine() -> None:
    assert choose("tts-1", "en_GB-alan-low") == ("piper", "en_GB-alan-low")
    assert choose(None, "bm_george") == ("kokoro", "bm_george")
    assert choose(None, "af_bella(2)+af_heart(1)") == ("kokoro", "af_bella(2)+af_heart(1)")


def test_unknown_and_mismatched_voices() -> None:
    with pytest.raises(LookupError):
        choose(None, "nobody")
    with pytest.raises(LookupError):
        choose(None, "af_bella+af_nobody")
    with pytest.raises(ValueError, match="belongs to kokoro"):
        choose("piper", "af_heart")


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("af_bella(2)+af_heart(1)", [("af_bella", 2.0), ("af_heart", 1.0)]),
        ("af_bella + af_heart", [("af_bella", 1.0), ("af_heart", 1.0)]),
        ("af_bella(0.25)", [("af_bella", 0.25)]),
        ("af_bella(", None),
        ("af_bella(0)+af_heart(0)", None),
        ("en_US-joe-medium", None),
        ("", None),
    ],
)
def test_parse_blend(text: str, parts: list[tuple[str, float]] | None) -> None:
    assert parse_blend(text) == parts


def test_kokoro_voice_facts_from_the_name() -> None:
    heart = kokoro_voice("af_heart")
    assert (heart.name, heart.language, heart.gender, heart.model) == (
        "Heart",
        "en-US",
        "female",
        "kokoro",
    )
    george = kokoro_voice("bm_george")
    assert (george.language, george.gender) == ("en-GB", "male")
    assert kokoro_voice("zf_xiaobei").language == "zh-CN"
    assert kokoro_voice("jm_kumo").language == "ja-JP"
