"""Large buffers go straight back to the operating system, so memory stays flat.

glibc serves a large allocation with mmap until one such block is freed; then it raises
its threshold (up to 32 MiB) and serves later ones from its heaps, which it seldom gives
back. Transcription allocates and frees buffers of megabytes for every 30-s chunk, in
several threads, so a server's resident memory ratcheted up with the length of a
recording: +450 MiB over ten minutes on a 2-core test machine. With a fixed threshold the
peak stays about 120 MiB above the warm process whatever the length.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os

M_MMAP_THRESHOLD = -3
THRESHOLD_BYTES = 1 << 20


def fix_mmap_threshold(threshold: int = THRESHOLD_BYTES) -> bool:
    """Ask glibc to map every allocation of `threshold` bytes or more on its own.

    A no-op (False) on other C libraries, or when the operator has set
    MALLOC_MMAP_THRESHOLD_ in the environment, which glibc then honours instead.
    """
    if "MALLOC_MMAP_THRESHOLD_" in os.environ:
        return False
    name = ctypes.util.find_library("c")
    if not name or not name.startswith("libc.so"):  # glibc; macOS and musl differ
        return False
    try:
        mallopt = ctypes.CDLL(name).mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, threshold))
