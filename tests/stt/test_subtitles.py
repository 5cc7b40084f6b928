"""Subtitle layout from word timestamps: the rules each cue keeps, and where it breaks; and
with the real model, words through every window of a long recording."""

from __future__ import annotations

import io
import itertools
import json

import numpy as np
import pysrt
import pytest

from tests.conftest import EVAL_DIR, installed_model, wer
from tests.recordings import long
from vocalis.audio.decode import decode
from vocalis.stt.base import (
    FakeTranscriber,
    Segment,
    TranscriptionOptions,
    Word,
    detect_language,
)
from vocalis.stt.faster_whisper import FasterWhisperTranscriber
from vocalis.stt.formats import render_asr, render_text, to_asr_json, to_tsv, to_txt
from vocalis.stt.subtitles import Cue, Layout, layout, split_lines, spread
from vocalis.stt.windowed import Windowing, transcribe_windows

RULES = Layout()


def timed(text: str, start: float = 0.0, rate: float = 0.3, pause: float = 0.05) -> list[Word]:
    """Words of `text` said one every `rate` seconds from `start`."""
    words, at = [], start
    for token in text.split():
        words.append(Word(at, at + rate - pause, " " + token, 0.9))
        at += rate
    return words


def segment(words: list[Word], text: str | None = None, i: int = 0) -> Segment:
    start = words[0].start if words else 0.0
    end = words[-1].end if words else 0.0
    return Segment(
        i, 0, start, end, text or "".join(w.word for w in words), [], 0.0, -0.2, 1.2, 0.01, words
    )


def check_rules(cues: list[Cue]) -> None:
    for cue, nxt in zip(cues, [*cues[1:], None], strict=True):
        assert 1 <= len(cue.lines) <= RULES.max_lines, cue
        assert all(0 < len(line) <= RULES.max_line for line in cue.lines), cue
        assert RULES.min_seconds - 1e-9 <= cue.end - cue.start <= RULES.max_seconds + 1e-9, cue
        if nxt:
            assert cue.end <= nxt.start, (cue, nxt)


def text_of(cues: list[Cue]) -> str:
    return " ".join(" ".join(c.lines) for c in cues)


STORY = (
    "It was a bright cold day in April, and the clocks were striking thirteen. Winston "
    "Smith, his chin nuzzled into his breast in an effort to escape the vile wind, slipped "
    "quickly through the glass doors of Victory Mansions, though not quickly enough to "
    "prevent a swirl of gritty dust from entering along with him. The hallway smelt of "
    "boiled cabbage and old rag mats."
)


def test_a_long_passage_keeps_every_rule_and_every_word() -> None:
    words = timed(STORY)
    cues = layout([segment(words[:40]), segment(words[40:], i=1)])
    check_rules(cues)
    assert text_of(cues) == " ".join(STORY.split())
    assert len(cues) >= len(STORY) / RULES.max_chars


def test_cues_break_at_sentence_ends() -> None:
    words = timed("The hallway smelt of boiled cabbage. At one end a poster was tacked.")
    cues = layout([segment(words)])
    assert [" ".join(c.lines) for c in cues] == [
        "The hallway smelt of boiled cabbage.",
        "At one end a poster was tacked.",
    ]


def test_a_long_sentence_breaks_at_its_comma() -> None:
    sentence = (
        "Winston made for the stairs, because it was no use trying the lift even at the "
        "best of times."
    )
    cues = layout([segment(timed(sentence, rate=0.25))])
    check_rules(cues)
    assert cues[0].lines[-1].endswith("stairs,"), cues


def test_lines_break_at_a_clause_and_not_after_an_article() -> None:
    lines = split_lines(timed("He began a confused complaint, against the wizard who had"), RULES)
    assert lines == ("He began a confused complaint,", "against the wizard who had")
    lines = split_lines(timed("He began a confused complaint against the wizard who had"), RULES)
    assert lines is not None and lines[0].split()[-1] not in ("a", "the"), lines
    two = split_lines(timed("ask what you can do for your country. Hello world."), RULES)
    assert two == ("ask what you can do for your country.", "Hello world.")


def test_a_pause_ends_a_cue() -> None:
    words = timed("Turn on the lamp") + timed("and the radio", start=4.0)
    cues = layout([segment(words)])
    assert [" ".join(c.lines) for c in cues] == ["Turn on the lamp", "and the radio"]
    assert cues[0].end <= 4.0


def test_a_short_word_stays_up_a_second_and_reading_time_extends_into_silence() -> None:
    quick = [Word(0.0, 0.2, " Yes.", 0.9)]
    assert layout([segment(quick)])[0].end == pytest.approx(1.0)
    # 36 characters said in 1.2 s, then silence: shown for 36 / 17 s.
    fast = timed("The hallway smelt of boiled cabbage.", rate=0.2)
    cue = layout([segment(fast)])[0]
    assert cue.end - cue.start == pytest.approx(36 / 17, abs=0.01)


def test_cues_never_overlap_even_when_word_times_do() -> None:
    words = [
        Word(0.0, 2.5, " First", 0.9),
        Word(0.5, 0.9, " words.", 0.9),
        Word(0.7, 1.0, " Second", 0.9),
        Word(0.8, 7.5, " part.", 0.9),
    ]
    cues = layout([segment(words)])
    for a, b in itertools.pairwise(cues):
        assert a.end <= b.start
    assert all(c.end - c.start <= RULES.max_seconds for c in cues)


def test_a_segment_without_words_is_spread_over_its_span() -> None:
    seg = segment([], text=" " + STORY)
    seg = Segment(0, 0, 10.0, 40.0, seg.text, [], 0.0, -0.2, 1.2, 0.01, [])
    words = spread(seg)
    assert words[0].start == 10.0 and words[-1].end == pytest.approx(40.0)
    cues = layout([seg])
    check_rules(cues)
    assert cues[0].start == 10.0 and cues[-1].end <= 40.0 + RULES.max_seconds
    assert text_of(cues) == " ".join(STORY.split())


def test_text_without_spaces_is_cut_by_characters() -> None:
    text = "我们今天去公园散步然后吃饭晚上看电影大家都很开心" * 3
    cues = layout([Segment(0, 0, 0.0, 12.0, text, [], 0.0, -0.2, 1.2, 0.01, [])])
    check_rules(cues)
    assert "".join("".join(c.lines) for c in cues) == text


def test_no_words_no_cues() -> None:
    assert layout([]) == []
    assert layout([Segment(0, 0, 0.0, 1.0, " ", [], 0.0, 0.0, 0.0, 0.9, [])]) == []


def test_laid_out_srt_parses_strictly() -> None:
    words = timed(STORY.replace("wind,", "wind --> a"))
    body = render_text("srt", [segment(words)], subtitle_layout=True)
    subs = pysrt.from_string(body, error_handling=pysrt.ERROR_RAISE)
    assert len(subs) >= len(STORY) / RULES.max_chars and "-->" not in subs.text
    assert render_text("vtt", [segment(words)], subtitle_layout=True).startswith("WEBVTT\n\n")


def test_whisper_asr_webservice_outputs() -> None:
    first = segment(timed("Hello there."), i=0)
    second = segment(timed("General Kenobi.", start=2.0), i=1, text=" General\tKenobi. ")
    assert to_txt([first, second]) == "Hello there.\nGeneral\tKenobi.\n"
    tsv = to_tsv([first, second]).splitlines()
    assert tsv[0] == "start\tend\ttext"
    assert tsv[1] == f"0\t{round(first.end * 1000)}\tHello there."
    assert tsv[2] == f"2000\t{round(second.end * 1000)}\tGeneral Kenobi."
    body = to_asr_json("en", [first, second])
    assert list(body) == ["language", "segments", "text"]
    assert body["segments"][0]["id"] == 1 and body["segments"][0]["words"][0]["word"] == " Hello"
    assert set(body["segments"][0]) == {
        "id", "seek", "start", "end", "text", "tokens", "avg_logprob", "compression_ratio",
        "no_speech_prob", "words", "temperature",
    }  # fmt: skip
    lines = str(render_asr("jsonl", "en", [first, second])).splitlines()
    assert [json.loads(line)["id"] for line in lines] == [1, 2]


# --- the real model: words from every window of a long recording, and language detection -


@pytest.fixture(scope="module")
def whisper() -> FasterWhisperTranscriber:
    return FasterWhisperTranscriber(installed_model("whisper-base"), cpu_threads=2)


def test_words_survive_every_window_of_a_long_recording(whisper: FasterWhisperTranscriber) -> None:
    samples, reference = long(EVAL_DIR, 1)
    windowing = Windowing(window_seconds=25, search_seconds=8, long_seconds=20)
    options = TranscriptionOptions(language="en", word_timestamps=True)
    pieces = (samples[i : i + 16_000] for i in range(0, len(samples), 16_000))
    segments = list(transcribe_windows(whisper, pieces, options, windowing).segments)
    assert segments[-1].start > 2 * windowing.window_seconds  # three windows at least
    assert all(s.words for s in segments if s.text.strip())
    for s in segments:
        assert all(s.start - 0.5 <= w.start <= w.end <= s.end + 1.0 for w in s.words), s
    assert max(w.end for s in segments for w in s.words) > len(samples) / 16_000 - 5
    cues = layout(segments)
    check_rules(cues)
    assert wer(reference, text_of(cues)) < 0.05


def test_language_from_the_first_30_seconds(whisper: FasterWhisperTranscriber) -> None:
    french = decode(
        io.BytesIO((EVAL_DIR / "whats_your_name_french.wav").read_bytes()), max_seconds=60
    )
    english = long(EVAL_DIR, 1)[0]
    assert detect_language(whisper, np.concatenate([french, english]))[0] == "fr"
    language, probability = detect_language(
        whisper, np.concatenate([english[: 16_000 * 31], french])
    )
    assert language == "en" and probability > 0.5
    # A backend without a detector of its own answers from its transcription's info.
    fake = FakeTranscriber([], language="de", language_probability=0.8)
    assert detect_language(fake, english) == ("de", 0.8)
    assert fake.calls[0].language is None and not fake.calls[0].timestamps
