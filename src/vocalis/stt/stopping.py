"""Stopping a transcription between two engine calls, not only between two segments.

faster-whisper yields a segment only once a whole 30-s chunk is encoded and decoded, so a
job that checks for a gone client between segments runs on for up to a chunk. Inside a
chunk the engine makes several calls (language detection, encode, generate, a fallback's
generate again), and each checks the flag of the job its thread works for, set with
`stops_when`. The flag is per thread: set it only around work that runs on one thread,
not around a generator that worker threads take turns to drive (`JobQueue.stream` sets it
around each of its steps instead).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

_working_for = threading.local()


class Stopped(Exception):
    """The job's client has gone: the engine was asked for no more."""


@contextmanager
def stops_when(event: threading.Event) -> Iterator[None]:
    """Engine calls made on this thread in the block raise Stopped once `event` is set."""
    previous = getattr(_working_for, "event", None)
    _working_for.event = event
    try:
        yield
    finally:
        _working_for.event = previous


def check() -> None:
    """Raise Stopped if the job this thread works for has been stopped."""
    event: threading.Event | None = getattr(_working_for, "event", None)
    if event is not None and event.is_set():
        raise Stopped
