"""`describe`'s info from the real catalog and model directory: what Home Assistant reads, and
never a model loaded to say it."""

from __future__ import annotations

from vocalis.config import Settings
from vocalis.server.app import build_services
from vocalis.tts.base import Voice
from vocalis.wyoming.info import describe, tts_voice, wyoming_language
from vocalis.wyoming.protocol import Info


def test_info_lists_models_and_voices_without_loading_any() -> None:
    services = build_services(Settings())
    info = Info.from_event(describe(services.stt, services.tts).event())  # as sent on the wire
    (asr,) = info.asr
    (tts,) = info.tts
    assert asr.supports_transcript_streaming and tts.supports_synthesize_streaming
    assert [model.name for model in asr.models] == ["whisper-base", "whisper-tiny.en"]
    base, tiny = asr.models
    assert base.installed and len(base.languages) == 100 and "fr" in base.languages
    assert tiny.languages == ["en"]
    names = [voice.name for voice in tts.voices]
    assert names == [voice.id for voice in services.tts.voices()]
    assert "en_US-joe-medium" in names and "af_heart" in names and "ff_siwis" in names
    assert all(voice.installed and voice.description for voice in tts.voices)
    assert services.stt.pool.loaded() == [] and services.tts.pool.loaded() == []


def test_a_voice_as_home_assistant_shows_it() -> None:
    voice = tts_voice(Voice("bf_emma", "Emma", "en-GB", "female", "kokoro"))
    assert voice.name == "bf_emma"
    assert voice.description == "Emma (en-GB, Kokoro)"
    assert voice.languages == ["en_GB"]
    assert voice.attribution.name == "hexgrad"
    assert wyoming_language("pt-BR") == "pt_BR"
