"""The pure parts of text to speech over Wyoming: which voice a request means."""

from __future__ import annotations

import pytest

from vocalis.errors import InvalidRequest
from vocalis.tts.base import Voice
from vocalis.wyoming.protocol import Event
from vocalis.wyoming.speech import VoiceChoice, voice_choice, voice_for_language

VOICES = [
    Voice("en_US-joe-medium", "Joe", "en-US", "unknown", "piper"),
    Voice("bf_emma", "Emma", "en-GB", "female", "kokoro"),
    Voice("ff_siwis", "Siwis", "fr-FR", "female", "kokoro"),
]


@pytest.mark.parametrize(
    ("language", "voice"),
    [("en_GB", "bf_emma"), ("en-gb", "bf_emma"), ("en", "en_US-joe-medium"),
     ("en_AU", "en_US-joe-medium"), ("fr_CA", "ff_siwis"), ("de_DE", None)],
)  # fmt: skip
def test_a_voice_for_a_language(language: str, voice: str | None) -> None:
    assert voice_for_language(VOICES, language) == voice


def test_the_voice_keeps_its_language_next_to_its_name() -> None:
    voice = {"name": "ff_siwis", "language": "fr_FR", "speaker": "0"}
    assert voice_choice(Event("synthesize", {"text": "x", "voice": voice})) == VoiceChoice(
        "ff_siwis", "fr_FR", "0"
    )
    assert voice_choice(Event("synthesize", {"text": "x"})) == VoiceChoice()
    with pytest.raises(InvalidRequest, match=r"voice\.name"):
        voice_choice(Event("synthesize", {"voice": {"name": 3}}))
