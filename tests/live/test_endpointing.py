"""Endpointing rules, frame by frame, on made-up speech probabilities (32-ms frames)."""

from __future__ import annotations

from vocalis.live.endpointing import Endpointer, Endpointing, Mark

RULES = Endpointing(silence_ms=320, min_speech_ms=96, tail_ms=96, max_utterance_seconds=2.0)


def run(probabilities: list[float], rules: Endpointing = RULES) -> list[tuple[int, Mark]]:
    endpointer = Endpointer(rules)
    marks = []
    for p in probabilities:
        mark = endpointer.step(p)
        if mark is not None:
            marks.append((endpointer.frame, mark))
    return marks


def test_speech_then_silence_starts_settles_and_ends() -> None:
    endpointer = Endpointer(RULES)
    marks = []
    for p in [0.0] * 5 + [0.9] * 20 + [0.0] * 12:
        mark = endpointer.step(p)
        if mark:
            marks.append((mark, endpointer.start, endpointer.end))
    # Starts once 3 frames of speech are in, dated to the first; settles after the tail
    # (3 frames), ends after 10 silent frames, dated to the first silent frame.
    assert marks == [(Mark.START, 5, 0), (Mark.SETTLED, 5, 25), (Mark.END, 5, 25)]


def test_a_blip_shorter_than_min_speech_is_not_speech() -> None:
    assert run([0.0, 0.9, 0.9, 0.0, 0.0, 0.9, 0.0] + [0.0] * 20) == []


def test_a_short_pause_resumes_the_same_utterance() -> None:
    marks = run([0.9] * 10 + [0.0] * 5 + [0.9] * 10 + [0.0] * 12)
    assert [m for _, m in marks] == [Mark.START, Mark.SETTLED, Mark.RESUME, Mark.SETTLED, Mark.END]


def test_hysteresis_keeps_speech_between_the_thresholds() -> None:
    # 0.4 is below the threshold (0.5) but above the release (0.35): still speech.
    marks = run([0.9] * 5 + [0.4] * 20 + [0.0] * 12)
    assert [m for _, m in marks] == [Mark.START, Mark.SETTLED, Mark.END]
    assert marks[-1][0] == 5 + 20 + 10


def test_speech_past_the_longest_utterance_is_cut_and_goes_on() -> None:
    endpointer = Endpointer(RULES)  # 2 s = 62 frames
    cuts = []
    for _ in range(200):
        if endpointer.step(0.9) is Mark.CUT:
            cuts.append((endpointer.end, endpointer.start))
    assert cuts == [(62, 62), (124, 124), (186, 186)]
    assert endpointer.speaking


def test_finish_ends_an_utterance_in_progress() -> None:
    endpointer = Endpointer(RULES)
    assert not endpointer.finish()  # nothing to finish
    for p in [0.9] * 10:
        endpointer.step(p)
    assert endpointer.finish() and endpointer.end == 10 and not endpointer.speaking
    for p in [0.9] * 10 + [0.0] * 2:
        endpointer.step(p)
    assert endpointer.paused
    assert endpointer.finish() and endpointer.end == 20  # where the pause began
