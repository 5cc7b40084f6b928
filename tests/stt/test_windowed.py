"""Transcription window by window: timestamps, ids, options and progress, with a fake engine.

The real model runs these paths end to end in tests/server/test_long_recordings.py.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace

import numpy as np
import pytest

from tests.conftest import EVAL_DIR
from tests.recordings import long
from vocalis.audio.vad import speech_spans
from vocalis.stt.base import (
    Segment,
    Transcription,
    TranscriptionInfo,
    TranscriptionOptions,
    Word,
)
from vocalis.stt.windowed import Progress, Resume, Windowing, sparse, transcribe_windows

RATE = 16_000


@dataclass
class EchoTranscriber:
    """One segment per window, spanning it, with one word; records what it was asked."""

    language: str = "fr"
    calls: list[tuple[int, TranscriptionOptions]] = field(default_factory=list)

    def transcribe(self, audio: np.ndarray, options: TranscriptionOptions) -> Transcription:
        self.calls.append((len(audio), options))
        seconds = len(audio) / RATE
        word = Word(0.5, 1.0, f" w{len(self.calls)}", 0.9)
        segment = Segment(0, 0, 0.0, seconds, f" w{len(self.calls)}", [1], 0.0, -0.1, 1.0, 0.0)
        language = options.language or self.language
        info = TranscriptionInfo(language, 0.8, seconds)
        return Transcription(info, iter([replace(segment, words=[word])]))


def silence(seconds: float) -> list[np.ndarray]:
    return [np.zeros(int(seconds * RATE), dtype=np.float32)]


WINDOWING = Windowing(window_seconds=40, search_seconds=10, long_seconds=30, long_beam_size=1)


def test_windows_are_placed_in_the_recording() -> None:
    engine = EchoTranscriber()
    result = transcribe_windows(engine, silence(100), TranscriptionOptions(), WINDOWING)
    segments = list(result.segments)

    # Silent tails are cut in their middle: 35 s windows.
    assert [s.id for s in segments] == [0, 1, 2]
    assert [(s.start, s.end) for s in segments] == [(0, 35), (35, 70), (70, 100)]
    assert [s.words[0].start for s in segments] == [0.5, 35.5, 70.5]
    assert [s.seek for s in segments] == [0, 3500, 7000]
    assert result.info.duration == pytest.approx(100)
    assert result.info.language == "fr"


def test_language_found_first_holds_for_every_window() -> None:
    engine = EchoTranscriber()
    list(transcribe_windows(engine, silence(100), TranscriptionOptions(), WINDOWING).segments)
    assert [options.language for _, options in engine.calls] == [None, "fr", "fr"]


def test_long_recordings_use_vad_greedy_and_no_carried_context() -> None:
    engine = EchoTranscriber()
    options = TranscriptionOptions(prompt="Vocalis", hotwords="ComfyUI")
    list(transcribe_windows(engine, silence(100), options, WINDOWING).segments)
    for _, used in engine.calls:
        assert used.vad_filter and used.beam_size == 1
        assert used.temperature == 0.0  # no fallback to sampling
        assert not used.condition_on_previous_text
        assert used.prompt == "Vocalis" and used.hotwords == "ComfyUI"


def test_a_request_beam_size_and_temperature_win_for_long_recordings() -> None:
    engine = EchoTranscriber()
    options = TranscriptionOptions(beam_size=4, temperature=0.4)
    list(transcribe_windows(engine, silence(45), options, WINDOWING).segments)
    assert {(used.beam_size, used.temperature) for _, used in engine.calls} == {(4, 0.4)}


def test_short_recordings_keep_the_request_options() -> None:
    engine = EchoTranscriber()
    options = TranscriptionOptions(language="en", vad_filter=False)
    result = transcribe_windows(engine, silence(3), options, WINDOWING)
    assert [s.end for s in result.segments] == [3.0]
    assert engine.calls == [(3 * RATE, options)]


def test_progress_is_reported_at_each_window_and_segment() -> None:
    seen: list[Progress] = []
    engine = EchoTranscriber()
    result = transcribe_windows(
        engine, silence(100), TranscriptionOptions(), WINDOWING, seen.append
    )
    list(result.segments)
    assert [(p.window, p.starting) for p in seen] == [
        (0, True),
        (0, False),
        (1, True),
        (1, False),
        (2, True),
        (2, False),
    ]
    assert [p.seconds for p in seen if p.starting] == [0, 35, 70]
    assert all(p.long for p in seen)


def test_a_checkpoint_that_raises_stops_before_the_next_window() -> None:
    engine = EchoTranscriber()

    def stop_at_second_window(progress: Progress) -> None:
        if progress.window == 1:
            raise RuntimeError("client gone")

    result = transcribe_windows(
        engine, silence(100), TranscriptionOptions(), WINDOWING, stop_at_second_window
    )
    with pytest.raises(RuntimeError):
        list(result.segments)
    assert len(engine.calls) == 1


@dataclass
class SkippingTranscriber:
    """Greedy decoding that jumps a passage: one 20-s segment of two words. Asked again
    (beam search), it gives `redo_words` words over whatever audio it is given."""

    redo_words: int
    calls: list[tuple[int, TranscriptionOptions]] = field(default_factory=list)

    def transcribe(self, audio: np.ndarray, options: TranscriptionOptions) -> Transcription:
        self.calls.append((len(audio), options))
        seconds = len(audio) / RATE
        info = TranscriptionInfo("en", 1.0, seconds)
        if options.beam_size == 1:
            tail = _segment(22.0, seconds, 8)
            return Transcription(info, iter([_segment(2.0, 22.0, 2), tail]))
        return Transcription(info, iter([_segment(0.1, seconds + 1, self.redo_words)]))


@pytest.fixture(scope="module")
def speech() -> np.ndarray:
    """Half a minute of real read speech, for the VAD behind `sparse`."""
    return long(EVAL_DIR, 0.5)[0]


def _segment(start: float, end: float, words: int) -> Segment:
    text = " word" * words
    return Segment(0, 0, start, end, text, [1], 0.0, -0.2, 1.2, 0.0)


def test_a_segment_that_skipped_speech_is_decoded_again(speech: np.ndarray) -> None:
    engine = SkippingTranscriber(redo_words=5)
    result = transcribe_windows(engine, [speech], TranscriptionOptions(), WINDOWING)
    segments = list(result.segments)

    # Each stretch of speech under the sparse segment is decoded on its own, with beam 5.
    stretches = speech_spans(speech[2 * RATE : 22 * RATE], 300, 200)
    redo = engine.calls[1:]
    assert len(stretches) >= 3 and len(redo) == len(stretches)
    assert [n for n, _ in redo] == [b - a for a, b in stretches]
    assert all(o.beam_size == 5 and not o.vad_filter for _, o in redo)
    # Their segments replace it, each placed at its stretch and ending by the stretch's end.
    replaced = segments[: len(stretches)]
    for segment, (a, b) in zip(replaced, stretches, strict=True):
        assert segment.start == pytest.approx(2 + a / RATE + 0.1)
        assert segment.end == pytest.approx(2 + b / RATE)
    assert segments[len(stretches)].start == 22.0
    assert len(segments) == len(stretches) + 1
    assert [s.id for s in segments] == list(range(len(segments)))


def test_a_redo_with_no_more_words_keeps_the_first_decode(speech: np.ndarray) -> None:
    engine = SkippingTranscriber(redo_words=0)
    result = transcribe_windows(engine, [speech], TranscriptionOptions(), WINDOWING)
    segments = list(result.segments)
    assert (segments[0].start, segments[0].end, segments[0].text) == (2.0, 22.0, " word word")


def test_dense_or_silent_segments_are_kept(speech: np.ndarray) -> None:
    segment = _segment(2.0, 22.0, 50)
    assert not sparse(segment, speech)
    assert sparse(_segment(2.0, 22.0, 2), speech)
    assert not sparse(_segment(2.0, 22.0, 2), np.zeros(30 * RATE, dtype=np.float32))
    assert not sparse(_segment(2.0, 6.0, 1), speech)  # short segments are left alone


@dataclass
class GappyTranscriber:
    """Greedy decoding that leaves 16 s of speech with no segment over it."""

    calls: list[tuple[int, TranscriptionOptions]] = field(default_factory=list)

    def transcribe(self, audio: np.ndarray, options: TranscriptionOptions) -> Transcription:
        self.calls.append((len(audio), options))
        seconds = len(audio) / RATE
        info = TranscriptionInfo("en", 1.0, seconds)
        if options.beam_size == 1:
            found = [_segment(0.0, 4.0, 10), _segment(20.0, seconds, 30)]
            return Transcription(info, iter(found))
        return Transcription(info, iter([_segment(0.0, seconds, 4)]))


def test_a_stretch_with_no_segment_is_filled(speech: np.ndarray) -> None:
    engine = GappyTranscriber()
    result = transcribe_windows(engine, [speech], TranscriptionOptions(), WINDOWING)
    segments = list(result.segments)

    # The speech between 4 s and 20 s, all but a second at each end, stretch by stretch.
    stretches = speech_spans(speech[5 * RATE : 19 * RATE], 300, 200)
    assert len(stretches) >= 2 and len(engine.calls) == 1 + len(stretches)
    filled = segments[1:-1]
    assert [(s.start, s.end) for s in filled] == [
        (pytest.approx(5 + a / RATE), pytest.approx(5 + b / RATE)) for a, b in stretches
    ]
    assert segments[-1].start == 20.0
    assert all(b.start >= a.end for a, b in itertools.pairwise(segments))
    assert [s.id for s in segments] == list(range(len(segments)))


def test_pauses_between_segments_are_left_alone(speech: np.ndarray) -> None:
    @dataclass
    class Dense(GappyTranscriber):
        def transcribe(self, audio: np.ndarray, options: TranscriptionOptions) -> Transcription:
            self.calls.append((len(audio), options))
            seconds = len(audio) / RATE
            found = [_segment(0.0, 10.0, 25), _segment(13.5, seconds, 60)]  # a 3.5-s pause
            return Transcription(TranscriptionInfo("en", 1.0, seconds), iter(found))

    engine = Dense()
    segments = list(
        transcribe_windows(engine, [speech], TranscriptionOptions(), WINDOWING).segments
    )
    assert len(engine.calls) == 1 and len(segments) == 2


def test_a_run_resumed_from_a_checkpoint_transcribes_only_what_is_left() -> None:
    whole = list(
        transcribe_windows(
            EchoTranscriber(), silence(100), TranscriptionOptions(), WINDOWING
        ).segments
    )
    seen: list[Progress] = []

    def stop_at_the_third_window(progress: Progress) -> None:
        seen.append(progress)
        if progress.window == 2 and progress.starting:
            raise KeyboardInterrupt  # the process dies here

    first = transcribe_windows(
        EchoTranscriber(), silence(100), TranscriptionOptions(), WINDOWING, stop_at_the_third_window
    )
    with pytest.raises(KeyboardInterrupt):
        list(first.segments)
    resume = seen[-1].resume
    assert resume is not None and resume.offset == 70 * RATE
    assert [s.text for s in resume.segments] == [" w1", " w2"]

    engine = EchoTranscriber(language="de")  # would detect another language now
    again = transcribe_windows(
        engine, silence(100), TranscriptionOptions(), WINDOWING, resume=resume
    )
    segments = list(again.segments)
    assert [samples for samples, _ in engine.calls] == [30 * RATE]  # the last window only
    assert [options.language for _, options in engine.calls] == ["fr"]
    assert [(s.id, s.start, s.end) for s in segments] == [(s.id, s.start, s.end) for s in whole]
    assert again.info.language == "fr" and again.info.duration == pytest.approx(100)


def test_a_resume_inside_a_window_keeps_each_segment_once() -> None:
    """Cut elsewhere than before (another window setting): the window holding the resume
    point is transcribed again, and only its segments from that point on are kept."""
    done = [Segment(0, 0, 0.0, 50.0, " before", [1], 0.0, -0.1, 1.0, 0.0)]
    resume = Resume(50 * RATE, TranscriptionInfo("fr", 0.8, 50.0), done)
    engine = EchoTranscriber()
    segments = list(
        transcribe_windows(
            engine, silence(100), TranscriptionOptions(), WINDOWING, resume=resume
        ).segments
    )
    # Windows 35-70 (its one segment starts at 35: dropped) and 70-100.
    assert [(s.id, s.start, s.text) for s in segments] == [(0, 0.0, " before"), (1, 70.0, " w2")]
