"""The memory budget over every pool: least recently used idle models make room."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient

from tests.conftest import EVAL_DIR
from tests.models.test_pool import FakeClock
from vocalis.config import Settings
from vocalis.models.budget import MemoryBudget
from vocalis.models.pool import ModelPool
from vocalis.server.app import create_app

MB = 2**20
SIZES = {"small": 30 * MB, "medium": 60 * MB, "large": 90 * MB}


class Memory:
    """A fake resident size that grows by each model's size as it loads."""

    def __init__(self) -> None:
        self.used = 500 * MB

    def __call__(self) -> int:
        return self.used


def pools(limit: int) -> tuple[ModelPool[str], ModelPool[str], FakeClock]:
    memory, clock = Memory(), FakeClock()
    budget = MemoryBudget(limit, measure=memory)

    def loader(key: str) -> str:
        memory.used += SIZES[key.split("/")[-1]]
        return key

    def hint(key: str) -> int:
        return SIZES[key.split("/")[-1]]

    stt = ModelPool(loader, clock=clock, budget=budget, size_hint=hint)
    tts = ModelPool(lambda key: loader("tts/" + key), clock=clock, budget=budget, size_hint=hint)
    return stt, tts, clock


def test_the_least_recently_used_idle_model_makes_room_across_pools() -> None:
    stt, tts, clock = pools(100 * MB)
    stt.load("small")
    clock.now = 1
    tts.load("medium")
    clock.now = 2
    stt.load("small")  # used again: now the most recent
    clock.now = 3
    stt.load("medium")  # 30 + 60 + 60 > 100: the TTS model, least recently used, goes
    assert stt.loaded() == ["small", "medium"] and tts.loaded() == []


def test_what_fits_stays_loaded() -> None:
    stt, tts, _ = pools(100 * MB)
    stt.load("small")
    tts.load("medium")
    assert stt.loaded() == ["small"] and tts.loaded() == ["medium"]


def test_a_held_model_is_never_unloaded_and_the_overrun_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    stt, tts, _ = pools(100 * MB)
    with stt.use("medium"), caplog.at_level(logging.WARNING):
        tts.load("large")
        assert stt.loaded() == ["medium"] and tts.loaded() == ["large"]
    assert "past the memory budget" in caplog.text


def test_several_small_models_go_for_one_large_one() -> None:
    stt, tts, clock = pools(100 * MB)
    stt.load("small")
    clock.now = 1
    tts.load("small")
    clock.now = 2
    stt.load("large")
    assert stt.loaded() == ["large"] and tts.loaded() == []


def test_a_load_into_memory_freed_earlier_still_counts_its_files() -> None:
    memory, clock = Memory(), FakeClock()
    budget = MemoryBudget(100 * MB, measure=memory)

    def loader(key: str) -> str:
        memory.used += 5 * MB  # the heap had room: the process barely grew
        return key

    pool = ModelPool(loader, clock=clock, budget=budget, size_hint=lambda key: SIZES[key])
    pool.load("medium")
    clock.now = 1
    pool.load("large")  # 60 + 90 > 100 by the files, though the process grew by 10
    assert pool.loaded() == ["large"]


def test_a_model_unloaded_for_idleness_no_longer_counts() -> None:
    memory, clock = Memory(), FakeClock()
    budget = MemoryBudget(100 * MB, measure=memory)

    def loader(key: str) -> str:
        memory.used += SIZES[key]
        return key

    pool = ModelPool(loader, idle_timeout=10, clock=clock, budget=budget)
    pool.load("medium")
    clock.now = 20
    assert pool.unload_idle() == ["medium"]
    pool.load("large")  # 90 fits alone
    assert pool.loaded() == ["large"]


def test_a_real_server_under_a_budget_keeps_one_whisper_model() -> None:
    """whisper-tiny.en and whisper-base weigh about 75 and 145 MB: 200 MiB holds one."""
    settings = Settings(model_memory_mb=200, allow_download=False)
    audio = (EVAL_DIR / "jfk.wav").read_bytes()
    with TestClient(create_app(settings)) as http:
        for model in ("whisper-tiny.en", "whisper-base"):
            response = http.post(
                "/v1/audio/transcriptions",
                files={"file": ("jfk.wav", audio)},
                data={"model": model},
            )
            assert "country" in response.json()["text"]
        body = http.get("/health").json()
    assert body["stt_models_loaded"] == ["whisper-base"]
