"""The pure parts of speech to text over Wyoming: language tags and the transcript events."""

from __future__ import annotations

import pytest

from vocalis.wyoming.protocol import Transcript, TranscriptChunk
from vocalis.wyoming.transcription import transcript_events, whisper_language


@pytest.mark.parametrize(
    ("tag", "code"),
    [("en", "en"), ("en-US", "en"), ("de_DE", "de"), ("FR", "fr"), ("yue", "yue"), ("", None),
     (None, None), ("auto", "auto")],
)  # fmt: skip
def test_language_tags_become_whisper_codes(tag: str | None, code: str | None) -> None:
    assert whisper_language(tag) == code


def test_transcript_events_stream_the_sentences_then_the_transcript() -> None:
    text = "Turn on the light. Then the fan?"
    events = transcript_events(text, "en")
    assert [e.type for e in events] == [
        "transcript-start",
        "transcript-chunk",
        "transcript-chunk",
        "transcript",
        "transcript-stop",
    ]
    assert events[0].data == {"language": "en"}
    chunks = [TranscriptChunk.from_event(e).text for e in events[1:3]]
    assert chunks == ["Turn on the light.", " Then the fan?"]
    assert Transcript.from_event(events[3]).text == text == "".join(chunks)


def test_nothing_said_is_an_empty_transcript_without_chunks() -> None:
    events = transcript_events("", None)
    assert [e.type for e in events] == ["transcript-start", "transcript", "transcript-stop"]
    assert events[0].data == {} and events[1].data == {"text": ""}
