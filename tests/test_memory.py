"""Free heap pages go back to the system between a long recording's windows."""

from __future__ import annotations

import ctypes
import ctypes.util

from vocalis.memory import release


def _resident_mib() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096 / 2**20


def test_free_pages_go_back_to_the_system() -> None:
    name = ctypes.util.find_library("c") or ""
    assert name.startswith("libc.so"), "these machines run glibc"
    libc = ctypes.CDLL(name)
    libc.malloc.restype = ctypes.c_void_p
    libc.free.argtypes = [ctypes.c_void_p]
    # 400 blocks of 100 KiB (under glibc's mmap threshold, so they come from the heap),
    # touched, then all freed but the last, which keeps the heap from shrinking at its top.
    blocks = [libc.malloc(100 * 1024) for _ in range(400)]
    for block in blocks:
        ctypes.memset(block, 1, 100 * 1024)
    before = _resident_mib()
    for block in blocks[:-1]:
        libc.free(block)
    kept = _resident_mib()
    assert release() is True
    after = _resident_mib()
    libc.free(blocks[-1])
    assert kept - after > 30, (before, kept, after)
