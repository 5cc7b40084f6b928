"""Large buffers go straight back to the operating system, so memory stays flat.

glibc serves a large allocation with mmap until one such block is freed; then it raises
its threshold (up to 32 MiB) and serves later ones from its heaps, which it seldom gives
back. Transcription allocates and frees buffers of megabytes for every 30-s chunk, in
several threads, so a server's resident memory ratcheted up with the length of a
recording: +450 MiB over ten minutes on a 2-core test machine. With a fixed threshold the
peak stays flat whatever the length. Two hours through the server, on another 2-core VM
(resident peak over the warm server, and time): 1 MiB +133 MiB in 258 s; 4 MiB +159 MiB in
244 s, each page fault of a fresh mapping being dear there (12 minutes in-process: 21.8 s at
1 MiB, 19.6 s at 4 MiB, 18.2 s with glibc's default and +232 MiB; an 11-s clip 0.851, 0.717
and 0.659 s).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os

M_MMAP_THRESHOLD = -3
THRESHOLD_BYTES = 4 << 20


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
