"""The fixed mmap threshold that keeps a long transcription's memory flat."""

from __future__ import annotations

import ctypes.util

import pytest

from vocalis.memory import fix_mmap_threshold


def test_glibc_takes_the_threshold() -> None:
    name = ctypes.util.find_library("c") or ""
    assert name.startswith("libc.so"), "these machines run glibc"
    assert fix_mmap_threshold() is True


def test_an_operator_setting_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MALLOC_MMAP_THRESHOLD_", "4194304")
    assert fix_mmap_threshold() is False
