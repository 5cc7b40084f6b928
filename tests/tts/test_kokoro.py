"""Kokoro with the real int8 model and its 54 voices, assembled by the model store."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.conftest import installed_model, rms
from vocalis.tts.base import Samples, SynthesisOptions, Synthesizer
from vocalis.tts.kokoro import KokoroSynthesizer
from vocalis.tts.voices import espeak_language

SENTENCE = "Hello world, this is a test."


@pytest.fixture(scope="session")
def kokoro_dir() -> Path:
    return installed_model("kokoro")


@pytest.fixture(scope="session")
def kokoro(kokoro_dir: Path) -> KokoroSynthesizer:
    return KokoroSynthesizer(kokoro_dir)


@pytest.fixture(scope="session")
def heart(kokoro: KokoroSynthesizer) -> Samples:
    return kokoro.synthesize(SENTENCE, SynthesisOptions("af_heart"))


def test_it_is_a_synthesizer(kokoro: KokoroSynthesizer) -> None:
    engine: Synthesizer = kokoro
    assert engine.sample_rate == 24_000
    assert engine.native_speed == (0.5, 2.0)
    assert 100 <= engine.max_chars <= 400


def test_all_54_voices_with_language_and_gender_from_the_name(kokoro: KokoroSynthesizer) -> None:
    voices = {voice.id: voice for voice in kokoro.voices()}
    assert len(voices) == 54
    heart = voices["af_heart"]
    assert (heart.name, heart.language, heart.gender, heart.model) == (
        "Heart",
        "en-US",
        "female",
        "kokoro",
    )
    george = voices["bm_george"]
    assert (george.name, george.language, george.gender) == ("George", "en-GB", "male")
    assert voices["ff_siwis"].language == "fr-FR"
    assert voices["zm_yunxi"].language == "zh-CN"
    assert voices["jf_alpha"].language == "ja-JP"
    assert {v.gender for v in voices.values()} == {"female", "male"}


def test_a_sentence_is_one_to_four_seconds_of_speech(
    kokoro: KokoroSynthesizer, heart: Samples
) -> None:
    assert heart.dtype == np.float32
    assert heart.ndim == 1
    assert 1.0 <= len(heart) / kokoro.sample_rate <= 4.0
    assert rms(heart) > 0.01
    assert float(np.max(np.abs(heart))) <= 1.0


def test_synthesis_is_deterministic(kokoro: KokoroSynthesizer, heart: Samples) -> None:
    assert np.array_equal(kokoro.synthesize(SENTENCE, SynthesisOptions("af_heart")), heart)


def test_speed_two_gives_about_half_the_samples(kokoro: KokoroSynthesizer, heart: Samples) -> None:
    fast = kokoro.synthesize(SENTENCE, SynthesisOptions("af_heart", speed=2.0))
    assert 0.4 <= len(fast) / len(heart) <= 0.65


def test_a_blend_differs_from_both_of_its_voices(kokoro: KokoroSynthesizer, heart: Samples) -> None:
    bella = kokoro.synthesize(SENTENCE, SynthesisOptions("af_bella"))
    blend = kokoro.synthesize(SENTENCE, SynthesisOptions("af_bella(2)+af_heart(1)"))
    assert 1.0 <= len(blend) / kokoro.sample_rate <= 4.0
    assert rms(blend) > 0.01
    for part in (bella, heart):
        assert len(blend) != len(part) or not np.allclose(blend, part, atol=1e-3)


def test_blend_weights_are_normalised(kokoro: KokoroSynthesizer) -> None:
    bella, heart = kokoro.style("af_bella"), kokoro.style("af_heart")
    assert kokoro.style("af_bella(2)+af_heart(1)").shape == (510, 1, 256)
    blend = kokoro.style("af_bella(2)+af_heart(1)")
    np.testing.assert_allclose(blend, (2 * bella + heart) / 3, rtol=0, atol=1e-6)
    equal = kokoro.style("af_bella+af_heart")
    np.testing.assert_allclose(equal, (bella + heart) / 2, rtol=0, atol=1e-6)
    spaced = kokoro.style("af_bella(4) + af_heart(4)")
    np.testing.assert_allclose(spaced, (bella + heart) / 2, rtol=0, atol=1e-6)


def test_unknown_voice_raises_key_error_naming_it(kokoro: KokoroSynthesizer) -> None:
    with pytest.raises(KeyError, match="af_nobody"):
        kokoro.synthesize(SENTENCE, SynthesisOptions("af_nobody"))
    with pytest.raises(KeyError, match="zz_nobody"):
        kokoro.synthesize(SENTENCE, SynthesisOptions("af_bella(1)+zz_nobody(2)"))
    with pytest.raises(KeyError, match="alloy"):
        kokoro.synthesize(SENTENCE, SynthesisOptions("alloy"))


def test_a_malformed_blend_is_a_value_error(kokoro: KokoroSynthesizer) -> None:
    with pytest.raises(ValueError, match="blend"):
        kokoro.style("af_bella(x)+af_heart")


def test_language_comes_from_the_request_else_the_voice(kokoro: KokoroSynthesizer) -> None:
    assert kokoro.language(SynthesisOptions("af_heart")) == "en-us"
    assert kokoro.language(SynthesisOptions("bm_george")) == "en-gb"
    assert kokoro.language(SynthesisOptions("zf_xiaobei(1)+af_heart(1)")) == "cmn"
    assert kokoro.language(SynthesisOptions("af_heart", language="en-GB")) == "en-gb"
    assert kokoro.language(SynthesisOptions("af_heart", language="fr")) == "fr-fr"


@pytest.mark.parametrize(
    ("language", "espeak"),
    [
        ("en", "en-us"),
        ("en-US", "en-us"),
        ("en-GB", "en-gb"),
        ("en-gb", "en-gb"),
        ("fr", "fr-fr"),
        ("fr-CA", "fr-fr"),
        ("es", "es"),
        ("it", "it"),
        ("pt", "pt-br"),
        ("pt-BR", "pt-br"),
        ("hi", "hi"),
        ("ja", "ja"),
        ("zh", "cmn"),
        ("zh-CN", "cmn"),
    ],
)
def test_request_languages_map_to_espeak(language: str, espeak: str) -> None:
    assert espeak_language(language) == espeak


def test_an_unsupported_language_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="de"):
        espeak_language("de")


@pytest.mark.parametrize(
    ("voice", "text"),
    [
        ("bm_george", "Good morning, how are you?"),
        ("ef_dora", "Hola, ¿cómo estás?"),
        ("ff_siwis", "Bonjour tout le monde."),
        ("hf_alpha", "नमस्ते दुनिया"),
        ("if_sara", "Ciao a tutti."),
        ("jf_alpha", "こんにちは"),
        ("pf_dora", "Olá, mundo."),
        ("zf_xiaobei", "你好世界。"),
    ],
)
def test_every_language_speaks(kokoro: KokoroSynthesizer, voice: str, text: str) -> None:
    audio = kokoro.synthesize(text, SynthesisOptions(voice))
    assert 0.5 <= len(audio) / kokoro.sample_rate <= 5.0
    assert rms(audio) > 0.01
