"""The synthesis loop around an engine: pieces, speed beyond the engine's range, stopping."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vocalis.config import Settings
from vocalis.errors import InvalidRequest, ModelNotFound
from vocalis.models.catalog import default_catalog
from vocalis.models.store import ModelStore
from vocalis.tts.base import FakeSynthesizer, SynthesisOptions, Synthesizer
from vocalis.tts.service import SpeechRequest, TextToSpeech

TEXT = "First sentence here. Second one follows. And a third to finish."


def service(tmp_path: Path, engine: FakeSynthesizer) -> TextToSpeech:
    settings = Settings(models_dir=tmp_path / "models", allow_download=False)
    store = ModelStore(default_catalog(), settings.models_dir, allow_download=False)

    def load() -> Synthesizer:
        return engine

    return TextToSpeech(settings, store, loaders={"piper": load})


def request(speed: float = 1.0, text: str = TEXT) -> SpeechRequest:
    return SpeechRequest("piper", SynthesisOptions(voice="fake"), text, speed)


def test_first_sentence_alone_then_sentences_packed(tmp_path: Path) -> None:
    engine = FakeSynthesizer()
    pieces = list(service(tmp_path, engine).synthesize(request()))
    assert engine.calls == ["First sentence here.", "Second one follows. And a third to finish."]
    assert len(pieces) == 2


def test_a_long_first_sentence_is_cut_short(tmp_path: Path) -> None:
    engine = FakeSynthesizer(first_chunk_chars=20)
    text = "The morning train was late again, so Clara walked to the bakery. She smiled."
    list(service(tmp_path, engine).synthesize(request(text=text)))
    assert len(engine.calls[0]) <= 20
    assert " ".join(engine.calls) == text


def test_numbers_are_spoken_as_words(tmp_path: Path) -> None:
    engine = FakeSynthesizer()
    list(service(tmp_path, engine).synthesize(request(text="It costs $5 for 3 items.")))
    assert engine.calls == ["It costs five dollars for three items."]


@pytest.mark.parametrize("speed", [0.25, 0.5, 1.0, 2.0, 4.0])
def test_speed_outside_the_engine_range_is_stretched(tmp_path: Path, speed: float) -> None:
    normal = sum(len(p) for p in service(tmp_path, FakeSynthesizer()).synthesize(request(1.0)))
    changed = sum(len(p) for p in service(tmp_path, FakeSynthesizer()).synthesize(request(speed)))
    assert changed / normal == pytest.approx(1 / speed, rel=0.05)


def test_closing_the_stream_stops_synthesis(tmp_path: Path) -> None:
    engine = FakeSynthesizer()
    pieces = service(tmp_path, engine).synthesize(
        request(text=" ".join(["One more sentence."] * 20))
    )
    next(pieces)
    next(pieces)
    pieces.close()
    assert len(engine.calls) == 2


def test_unknown_voice_and_model(tmp_path: Path) -> None:
    tts = service(tmp_path, FakeSynthesizer())
    with pytest.raises(InvalidRequest) as bad_voice:
        tts.request("tts-1", "nobody", "Hi.", 1.0, None)
    assert bad_voice.value.param == "voice"
    with pytest.raises(ModelNotFound):
        tts.request("tts-7", "alloy", "Hi.", 1.0, None)


def test_kokoro_absent_means_piper_for_openai_names(tmp_path: Path) -> None:
    tts = service(tmp_path, FakeSynthesizer())
    assert not tts.kokoro_installed()
    made = tts.request("tts-1", "alloy", "Hi.", 1.0, None)
    assert (made.engine, made.options.voice) == ("piper", "en_US-joe-medium")
    assert tts.models()[0] == "piper" and "kokoro" not in tts.models()


def test_whole_text_in_one_call_when_not_streaming(tmp_path: Path) -> None:
    engine = FakeSynthesizer()
    tts = service(tmp_path, engine)
    made = tts.request("piper", "en_US-joe-medium", TEXT, 1.0, None, streaming=False)
    assert not made.streaming
    list(tts.synthesize(SpeechRequest("piper", made.options, TEXT, 1.0, streaming=False)))
    assert engine.calls == [TEXT]


def test_a_piper_voice_dropped_into_the_voices_dir_is_listed_and_speaks(tmp_path: Path) -> None:
    real = Settings()
    store = ModelStore(default_catalog(), real.models_dir, allow_download=False)
    joe = store.path(store.spec("piper-en_US-joe-medium"))
    voices = tmp_path / "voices"
    voices.mkdir()
    (voices / "en_GB-guest-medium.onnx").symlink_to(joe / "en_US-joe-medium.onnx")
    config = (joe / "en_US-joe-medium.onnx.json").read_text().replace('"en_US"', '"en_GB"')
    (voices / "en_GB-guest-medium.onnx.json").write_text(config)
    (voices / "incomplete.onnx").write_bytes(b"no config beside it")

    settings = Settings(models_dir=real.models_dir, voices_dir=voices, allow_download=False)
    tts = TextToSpeech(settings, store)
    listed = {v.id: v for v in tts.voices("piper")}
    assert set(listed) == {"en_US-joe-medium", "en_GB-guest-medium"}
    assert listed["en_GB-guest-medium"].language == "en-GB"
    request = tts.request(None, "en_GB-guest-medium", "Hello there.", 1.0, None)
    assert request.engine == "piper"
    audio = np.concatenate(list(tts.synthesize(request)))
    assert 0.5 < len(audio) / tts.sample_rate("piper") < 3
