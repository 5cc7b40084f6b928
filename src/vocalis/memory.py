"""Freed memory goes back to the operating system between windows, so memory stays flat.

glibc keeps what a process frees in its heaps (one per thread that allocates), for reuse,
and seldom gives it back: transcription allocates and frees buffers of megabytes for every
30-s chunk, in several threads, so resident memory crept up with the length of a recording.
`release` asks glibc to return every free page (`malloc_trim`); the long path calls it
between windows, which keeps the peak a few tens of MiB above the warm process whatever the
length, at no measurable cost. The older remedy, a fixed 1-MiB mmap threshold, kept memory
as flat but made every large buffer a fresh mapping: a quarter of a long transcription's
time went to page faults on a 2-core machine.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from collections.abc import Callable
from functools import cache


def release() -> bool:
    """Return free heap pages to the system; False where the C library has no malloc_trim
    (musl, macOS), which then keeps its own habits."""
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True


@cache
def _malloc_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    if not name or not name.startswith("libc.so"):  # glibc; macOS and musl differ
        return None
    try:
        trim: Callable[[int], int] = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):
        return None
    return trim
