"""Each OpenAI response_format rendered from segments."""

from __future__ import annotations

import math

import pytest

from vocalis.stt.base import Segment, TranscriptionInfo, Word
from vocalis.stt.formats import (
    MEDIA_TYPES,
    RESPONSE_FORMATS,
    logprobs,
    render_text,
    timestamp,
    to_json,
    to_srt,
    to_verbose_json,
    to_vtt,
)

INFO = TranscriptionInfo(language="en", language_probability=0.98, duration=11.02)


def segment(
    i: int, start: float, end: float, text: str, words: list[Word] | None = None
) -> Segment:
    return Segment(
        id=i,
        seek=0,
        start=start,
        end=end,
        text=text,
        tokens=[50364 + i, 400],
        temperature=0.0,
        avg_logprob=-0.25,
        compression_ratio=1.3,
        no_speech_prob=0.01,
        words=words or [],
    )


SEGMENTS = [
    segment(
        0,
        0.0,
        3.5,
        " And so my fellow Americans,",
        [Word(0.0, 0.4, " And", 0.9), Word(0.4, 0.7, " so", 0.5)],
    ),
    segment(1, 3.5, 3661.5, " ask not.", [Word(3.5, 4.0, " ask", 1.0)]),
]


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (0.0, "00:00:00,000"),
        (3661.5, "01:01:01,500"),
        (2.0006, "00:00:02,001"),
        (59.9996, "00:01:00,000"),
        (36000.25, "10:00:00,250"),
        (-0.3, "00:00:00,000"),
    ],
)
def test_timestamp_rounds_to_milliseconds_with_hours(seconds: float, expected: str) -> None:
    assert timestamp(seconds, ",") == expected


def test_timestamp_uses_the_given_decimal_mark() -> None:
    assert timestamp(3661.5, ".") == "01:01:01.500"


def test_srt_numbers_cues_from_one_with_blank_lines_between() -> None:
    assert to_srt(SEGMENTS) == (
        "1\n"
        "00:00:00,000 --> 00:00:03,500\n"
        "And so my fellow Americans,\n"
        "\n"
        "2\n"
        "00:00:03,500 --> 01:01:01,500\n"
        "ask not.\n"
    )


def test_srt_of_nothing_is_empty() -> None:
    assert to_srt([]) == ""


def test_vtt_has_header_and_dot_decimals() -> None:
    vtt = to_vtt(SEGMENTS)
    assert vtt == (
        "WEBVTT\n"
        "\n"
        "00:00:00.000 --> 00:00:03.500\n"
        "And so my fellow Americans,\n"
        "\n"
        "00:00:03.500 --> 01:01:01.500\n"
        "ask not.\n"
    )
    assert vtt.startswith("WEBVTT\n\n")
    assert "," not in vtt.split("\n")[2]


def test_text_format_is_stripped_joined_text_with_trailing_newline() -> None:
    assert render_text("text", SEGMENTS) == "And so my fellow Americans, ask not.\n"
    assert render_text("text", [segment(0, 0, 1, "   ")]) == "\n"
    assert render_text("srt", SEGMENTS) == to_srt(SEGMENTS)
    assert render_text("vtt", SEGMENTS) == to_vtt(SEGMENTS)


def test_json_has_text_and_duration_usage_rounded_up() -> None:
    body = to_json(INFO, SEGMENTS)
    assert body == {
        "text": "And so my fellow Americans, ask not.",
        "usage": {"type": "duration", "seconds": 12},
    }
    exact = TranscriptionInfo("en", 1.0, 11.0)
    assert to_json(exact, SEGMENTS)["usage"] == {"type": "duration", "seconds": 11}


def test_json_logprobs_entries() -> None:
    body = to_json(INFO, SEGMENTS, with_logprobs=True)
    entries = body["logprobs"]

    assert [e["token"] for e in entries] == [" And", " so", " ask"]
    assert entries == logprobs(SEGMENTS)
    for entry in entries:
        assert set(entry) == {"token", "logprob", "bytes"}
        assert entry["logprob"] <= 0
        assert bytes(entry["bytes"]).decode() == entry["token"]
    assert entries[0]["logprob"] == pytest.approx(math.log(0.9))
    assert entries[1]["logprob"] == pytest.approx(math.log(0.5))
    assert entries[2]["logprob"] == 0.0


def test_logprobs_of_zero_probability_are_finite_and_non_ascii_bytes_are_utf8() -> None:
    words = [Word(0, 1, " café", 0.0)]
    (entry,) = logprobs([segment(0, 0, 1, " café", words)])
    assert math.isfinite(entry["logprob"])
    assert entry["logprob"] < -20
    assert entry["bytes"] == list(" café".encode())
    assert len(entry["bytes"]) == 6


def test_verbose_json_keys_and_segment_fields() -> None:
    body = to_verbose_json(INFO, SEGMENTS, task="transcribe")

    assert list(body) == ["task", "language", "duration", "text", "segments", "usage"]
    assert body["task"] == "transcribe"
    assert body["language"] == "en"
    assert body["duration"] == 11.02
    assert body["text"] == "And so my fellow Americans, ask not."
    assert body["usage"] == {"type": "duration", "seconds": 12}
    first = body["segments"][0]
    assert first == {
        "id": 0,
        "seek": 0,
        "start": 0.0,
        "end": 3.5,
        "text": " And so my fellow Americans,",
        "tokens": [50364, 400],
        "temperature": 0.0,
        "avg_logprob": -0.25,
        "compression_ratio": 1.3,
        "no_speech_prob": 0.01,
    }
    assert [s["id"] for s in body["segments"]] == [0, 1]


def test_verbose_json_words_only_when_word_level() -> None:
    body = to_verbose_json(INFO, SEGMENTS, task="transcribe", word_level=True)

    assert set(body) == {"task", "language", "duration", "text", "segments", "usage", "words"}
    assert body["words"] == [
        {"word": "And", "start": 0.0, "end": 0.4},
        {"word": "so", "start": 0.4, "end": 0.7},
        {"word": "ask", "start": 3.5, "end": 4.0},
    ]

    words_only = to_verbose_json(
        INFO, SEGMENTS, task="transcribe", segment_level=False, word_level=True
    )
    assert "segments" not in words_only
    assert len(words_only["words"]) == 3


def test_verbose_json_translation_has_no_usage() -> None:
    body = to_verbose_json(INFO, SEGMENTS, task="translate")
    assert body["task"] == "translate"
    assert set(body) == {"task", "language", "duration", "text", "segments"}


def test_every_format_has_a_media_type() -> None:
    assert set(MEDIA_TYPES) == set(RESPONSE_FORMATS)
    assert MEDIA_TYPES["vtt"].startswith("text/vtt")
    assert MEDIA_TYPES["verbose_json"] == "application/json"
