"""Cutting a recording of any length into windows that end in a pause.

A window is what the engine transcribes in one call: a couple of minutes, so memory stays
flat whatever the length, and cut where nobody speaks, so no word is split between two
windows. The rules are pure; where the speech is comes in as a function.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from vocalis.audio.decode import Samples

Span = tuple[int, int]
# A pause at least this long is a place to cut (samples at 16 kHz: 200 ms).
MIN_PAUSE = 3_200
# Without such a pause, cut in the quietest stretch of this many samples (20 ms).
QUIET_FRAME = 320


@dataclass(frozen=True)
class Window:
    offset: int  # samples of the recording before this window
    samples: Samples
    last: bool


def windows(
    pieces: Iterable[Samples],
    size: int,
    search: int,
    find_speech: Callable[[Samples], Sequence[Span]],
) -> Iterator[Window]:
    """Windows of at most `size` samples; each one but the last ends in a pause found in
    its final `search` samples. Holds at most one window of audio at a time."""
    held: list[Samples] = []
    length = offset = 0
    for piece in pieces:
        held.append(piece)
        length += len(piece)
        while length > size:
            audio = np.concatenate(held)
            tail = audio[size - search : size]
            end = size - search + cut_point(tail, find_speech(tail))
            yield Window(offset, audio[:end], last=False)
            held, length, offset = [audio[end:].copy()], len(audio) - end, offset + end
    if length or not offset:
        yield Window(offset, np.concatenate(held) if held else np.zeros(0, np.float32), True)


def cut_point(tail: Samples, speech: Sequence[Span]) -> int:
    """Where to end a window within its tail: the middle of the longest pause, the later one
    of two alike; with no pause of MIN_PAUSE, the quietest moment."""
    pauses = _pauses(speech, len(tail))
    start, end = max(pauses, key=lambda p: (p[1] - p[0], p[0]), default=(0, 0))
    if end - start >= MIN_PAUSE:
        return max(1, (start + end) // 2)
    return quietest(tail)


def _pauses(speech: Sequence[Span], length: int) -> list[Span]:
    edges = [0, *(edge for span in speech for edge in span), length]
    return [(edges[i], edges[i + 1]) for i in range(0, len(edges), 2) if edges[i + 1] > edges[i]]


def quietest(tail: Samples) -> int:
    """The middle of the lowest-energy frame of QUIET_FRAME samples."""
    frames = len(tail) // QUIET_FRAME
    if frames < 1:
        return max(1, len(tail))
    energy = np.square(tail[: frames * QUIET_FRAME], dtype=np.float64).reshape(frames, -1).sum(1)
    return int(np.argmin(energy)) * QUIET_FRAME + QUIET_FRAME // 2
