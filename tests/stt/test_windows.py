"""Where a recording is cut into windows: pure rules, with speech spans given."""

from __future__ import annotations

import numpy as np
import pytest

from vocalis.stt.windows import (
    MIN_PAUSE,
    QUIET_FRAME,
    Span,
    cut_point,
    quietest,
    windows,
)

RATE = 16_000


def test_cut_is_in_the_middle_of_the_longest_pause() -> None:
    tail = np.ones(10 * RATE, dtype=np.float32)
    speech = [(0, 2 * RATE), (3 * RATE, 5 * RATE), (8 * RATE, 10 * RATE)]
    # Pauses: 2-3 s and 5-8 s; the longer one wins.
    assert cut_point(tail, speech) == int(6.5 * RATE)


def test_of_two_equal_pauses_the_later_is_taken() -> None:
    tail = np.ones(10 * RATE, dtype=np.float32)
    speech = [(0, 2 * RATE), (3 * RATE, 7 * RATE), (8 * RATE, 10 * RATE)]
    assert cut_point(tail, speech) == int(7.5 * RATE)


def test_silence_before_and_after_speech_counts_as_a_pause() -> None:
    tail = np.ones(10 * RATE, dtype=np.float32)
    assert cut_point(tail, [(0, 4 * RATE)]) == 7 * RATE
    assert cut_point(tail, []) == 5 * RATE


def test_without_a_pause_the_cut_is_at_the_quietest_moment() -> None:
    rng = np.random.default_rng(3)
    tail = rng.uniform(0.2, 0.5, 5 * RATE).astype(np.float32)
    tail[3 * RATE : 3 * RATE + QUIET_FRAME] = 0.001
    speech = [(0, 2 * RATE), (2 * RATE + MIN_PAUSE // 2, 5 * RATE)]  # a pause too short to use
    assert cut_point(tail, speech) == 3 * RATE + QUIET_FRAME // 2
    assert quietest(tail) == 3 * RATE + QUIET_FRAME // 2


def pieces(audio: np.ndarray, size: int) -> list[np.ndarray]:
    return [audio[i : i + size] for i in range(0, len(audio), size)]


def no_speech(_: np.ndarray) -> list[Span]:
    return []


@pytest.mark.parametrize("piece", [1_000, 4_096, 50_000])
def test_windows_cover_the_recording_exactly_once(piece: int) -> None:
    audio = np.arange(25 * RATE, dtype=np.float32)
    found = list(windows(pieces(audio, piece), 10 * RATE, 2 * RATE, no_speech))

    assert np.array_equal(np.concatenate([w.samples for w in found]), audio)
    assert [w.last for w in found] == [False] * (len(found) - 1) + [True]
    offset = 0
    for window in found:
        assert window.offset == offset
        assert len(window.samples) <= 10 * RATE
        offset += len(window.samples)
    # With no speech the cut is in the middle of each window's 2-s tail: 9 s windows.
    assert [len(w.samples) for w in found[:-1]] == [9 * RATE, 9 * RATE]


def test_each_window_ends_in_the_pause_found_in_its_tail() -> None:
    audio = np.ones(30 * RATE, dtype=np.float32)

    def speech(tail: np.ndarray) -> list[Span]:
        # Speech all through each tail but for a pause from 1.0 to 1.5 s into it.
        return [(0, RATE), (int(1.5 * RATE), len(tail))]

    found = list(windows([audio], 10 * RATE, 4 * RATE, speech))
    assert len(found[0].samples) == 6 * RATE + int(1.25 * RATE)


def test_a_short_recording_is_one_last_window() -> None:
    audio = np.ones(3 * RATE, dtype=np.float32)
    (only,) = windows(pieces(audio, 1_000), 10 * RATE, 2 * RATE, no_speech)
    assert only.last and only.offset == 0 and len(only.samples) == 3 * RATE
