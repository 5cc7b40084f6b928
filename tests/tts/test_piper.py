"""Piper with the real en_US-joe-medium voice, assembled by the model store."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import installed_model, rms
from vocalis.tts.base import SynthesisOptions, Synthesizer
from vocalis.tts.piper import PiperSynthesizer, length_scale

JOE = "en_US-joe-medium"
SENTENCE = "Hello world, this is a test."


@pytest.fixture(scope="session")
def joe_dir() -> Path:
    return installed_model("piper-en_US-joe-medium")


@pytest.fixture(scope="session")
def piper(joe_dir: Path) -> PiperSynthesizer:
    return PiperSynthesizer([joe_dir])


def test_it_is_a_synthesizer(piper: PiperSynthesizer) -> None:
    engine: Synthesizer = piper
    assert engine.sample_rate == 22_050
    assert engine.native_speed == (0.5, 2.0)
    assert 200 <= engine.max_chars <= 500


def test_voices_come_from_the_voice_config(piper: PiperSynthesizer) -> None:
    (voice,) = piper.voices()
    assert voice.id == JOE
    assert voice.language == "en-US"
    assert voice.name == "Joe"
    assert voice.gender == "male"
    assert voice.model == "piper"


def test_directory_and_file_pairs_give_the_same_voices(joe_dir: Path) -> None:
    pairs = [(joe_dir / f"{JOE}.onnx", joe_dir / f"{JOE}.onnx.json")]
    assert PiperSynthesizer(pairs).voices() == PiperSynthesizer([joe_dir]).voices()
    assert PiperSynthesizer([joe_dir / f"{JOE}.onnx"]).voices() == PiperSynthesizer(pairs).voices()


def test_no_voices_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        PiperSynthesizer([tmp_path])


def test_a_sentence_is_one_to_four_seconds_of_speech(piper: PiperSynthesizer) -> None:
    audio = piper.synthesize(SENTENCE, SynthesisOptions(JOE))
    assert audio.dtype == np.float32
    assert audio.ndim == 1
    assert 1.0 <= len(audio) / piper.sample_rate <= 4.0
    assert rms(audio) > 0.01
    assert float(np.max(np.abs(audio))) <= 1.0


def test_speed_two_gives_about_half_the_samples(piper: PiperSynthesizer) -> None:
    # Piper's durations are random (noise_w): compare the mean of a few runs.
    def mean_length(speed: float) -> float:
        options = SynthesisOptions(JOE, speed=speed)
        return float(np.mean([len(piper.synthesize(SENTENCE, options)) for _ in range(3)]))

    assert 0.4 <= mean_length(2.0) / mean_length(1.0) <= 0.6


def test_speed_half_gives_about_twice_the_samples(piper: PiperSynthesizer) -> None:
    normal = len(piper.synthesize(SENTENCE, SynthesisOptions(JOE)))
    slow = len(piper.synthesize(SENTENCE, SynthesisOptions(JOE, speed=0.5)))
    assert 1.7 <= slow / normal <= 2.4


def test_length_scale_is_one_at_normal_speed_and_falls_faster_than_one_over_speed() -> None:
    assert length_scale(1.0) == pytest.approx(1.0)
    assert length_scale(2.0) < 0.5 < length_scale(1.5) < 1.0 < 2.0 < length_scale(0.5)


def test_several_sentences_are_joined(piper: PiperSynthesizer) -> None:
    one = len(piper.synthesize(SENTENCE, SynthesisOptions(JOE)))
    two = len(piper.synthesize(f"{SENTENCE} {SENTENCE}", SynthesisOptions(JOE)))
    assert 1.6 * one < two < 2.4 * one


def test_unknown_voice_raises_key_error(piper: PiperSynthesizer) -> None:
    with pytest.raises(KeyError, match="en_US-nobody-medium"):
        piper.synthesize(SENTENCE, SynthesisOptions("en_US-nobody-medium"))


def test_a_voice_at_another_rate_is_resampled_to_the_first(joe_dir: Path, tmp_path: Path) -> None:
    # The same weights, declared as a 16 kHz voice: its output is stretched by 22050/16000.
    config = json.loads((joe_dir / f"{JOE}.onnx.json").read_text(encoding="utf-8"))
    config["audio"]["sample_rate"] = 16_000
    (tmp_path / "en_US-joe16k-medium.onnx.json").write_text(json.dumps(config), encoding="utf-8")
    (tmp_path / "en_US-joe16k-medium.onnx").symlink_to(joe_dir / f"{JOE}.onnx")
    engine = PiperSynthesizer([joe_dir, tmp_path])
    assert engine.sample_rate == 22_050
    assert [v.id for v in engine.voices()] == [JOE, "en_US-joe16k-medium"]
    native = np.mean([len(engine.synthesize(SENTENCE, SynthesisOptions(JOE))) for _ in range(3)])
    options = SynthesisOptions("en_US-joe16k-medium")
    resampled = np.mean([len(engine.synthesize(SENTENCE, options)) for _ in range(3)])
    assert 1.25 <= resampled / native <= 1.5
