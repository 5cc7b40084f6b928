"""Which model a request's name resolves to."""

from __future__ import annotations

from pathlib import Path

from vocalis.config import Settings
from vocalis.models.catalog import default_catalog
from vocalis.models.store import ModelStore
from vocalis.stt.service import SpeechToText


def test_openai_names_mean_the_default_model(tmp_path: Path) -> None:
    settings = Settings(default_stt_model="whisper-tiny.en", models_dir=tmp_path)
    stt = SpeechToText(settings, ModelStore(default_catalog(), tmp_path, {}, False))
    for name in (None, "", "whisper-1", "gpt-4o-transcribe", " GPT-4o-mini-transcribe "):
        assert stt.resolve(name).id == "whisper-tiny.en", name
    assert stt.resolve("whisper-base").id == "whisper-base"
    assert stt.resolve("base").id == "whisper-base"
