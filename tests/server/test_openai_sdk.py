"""The official OpenAI Python SDK, validating every response strictly, against a live server."""

from __future__ import annotations

import pytest
from openai import OpenAI
from openai.types.audio import (
    Transcription,
    TranscriptionTextDeltaEvent,
    TranscriptionTextDoneEvent,
    TranscriptionVerbose,
    Translation,
    TranslationVerbose,
)

from tests.conftest import EVAL_DIR, references, wer

JFK = references()["jfk.wav"][1]


def test_json(client: OpenAI) -> None:
    result = client.audio.transcriptions.create(model="whisper-1", file=EVAL_DIR / "jfk.wav")
    assert isinstance(result, Transcription)
    assert wer(JFK, result.text) < 0.05
    assert result.usage is not None and result.usage.type == "duration"
    assert result.usage.seconds == 11


@pytest.mark.parametrize("fmt", ["text", "srt", "vtt"])
def test_text_formats(client: OpenAI, fmt: str) -> None:
    result = client.audio.transcriptions.create(
        model="whisper-1",
        file=EVAL_DIR / "jfk.wav",
        response_format=fmt,  # type: ignore[call-overload]
    )
    assert isinstance(result, str)
    assert "ask not what your country can do for you" in result
    if fmt == "srt":
        assert result.startswith("1\n00:00:00,000 --> 00:00:")
    if fmt == "vtt":
        assert result.startswith("WEBVTT\n\n00:00:00.000 --> 00:00:")


def test_verbose_json_with_words_and_segments(client: OpenAI) -> None:
    result = client.audio.transcriptions.create(
        model="whisper-1",
        file=EVAL_DIR / "jfk.wav",
        response_format="verbose_json",
        timestamp_granularities=["word", "segment"],
    )
    assert isinstance(result, TranscriptionVerbose)
    assert result.language == "en"
    assert abs(result.duration - 11.0) < 0.1
    assert result.segments and result.segments[0].id == 0
    assert result.segments[-1].end <= 11.1
    assert result.words is not None
    spoken = [w.word for w in result.words]
    assert wer(JFK, " ".join(spoken)) < 0.05
    starts = [w.start for w in result.words]
    assert starts == sorted(starts) and result.words[-1].end <= 11.1


def test_verbose_json_words_only(client: OpenAI) -> None:
    result = client.audio.transcriptions.create(
        model="whisper-1",
        file=EVAL_DIR / "living_room_light_en.wav",
        response_format="verbose_json",
        timestamp_granularities=["word"],
    )
    assert result.words and result.segments is None
    assert [w.word.strip(".").lower() for w in result.words][-2:] == ["room", "light"]


def test_logprobs(client: OpenAI) -> None:
    result = client.audio.transcriptions.create(
        model="whisper-1", file=EVAL_DIR / "jfk.wav", include=["logprobs"]
    )
    assert result.logprobs and len(result.logprobs) >= 20
    assert all(lp.logprob is not None and lp.logprob <= 0 for lp in result.logprobs)


# The SDK marks the translations resource deprecated; the endpoint is still part of the API.
translation_warning = pytest.mark.filterwarnings("ignore:deprecated:DeprecationWarning")


@translation_warning
def test_translation(client: OpenAI) -> None:
    result = client.audio.translations.create(
        model="whisper-1", file=EVAL_DIR / "whats_your_name_french.wav"
    )
    assert isinstance(result, Translation)
    assert "you" in result.text.lower()


@translation_warning
def test_translation_verbose(client: OpenAI) -> None:
    result = client.audio.translations.create(
        model="whisper-1",
        file=EVAL_DIR / "whats_your_name_french.wav",
        response_format="verbose_json",
    )
    assert isinstance(result, TranslationVerbose)
    assert result.language == "en" and result.segments
    assert "you" in result.text.lower()


def test_stream(client: OpenAI) -> None:
    stream = client.audio.transcriptions.create(
        model="whisper-1", file=EVAL_DIR / "jfk.wav", stream=True
    )
    events = list(stream)
    deltas = [e for e in events if isinstance(e, TranscriptionTextDeltaEvent)]
    done = events[-1]
    assert isinstance(done, TranscriptionTextDoneEvent)
    assert deltas and all(e is not done for e in deltas)
    assert "".join(d.delta for d in deltas).strip() == done.text
    assert wer(JFK, done.text) < 0.05
    assert done.usage is not None and done.usage.input_tokens == 550
    assert done.usage.total_tokens == done.usage.input_tokens + done.usage.output_tokens


def test_models(client: OpenAI) -> None:
    ids = [model.id for model in client.models.list()]
    assert "whisper-base" in ids and "whisper-tiny.en" in ids
    assert client.models.retrieve("whisper-1").id == "whisper-1"
