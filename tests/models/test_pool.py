"""The model pool: one load under concurrency, borrowing, and idle unloading."""

from __future__ import annotations

import threading
import time

from vocalis.models.pool import ModelPool


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class CountingLoader:
    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.calls: list[str] = []
        self._lock = threading.Lock()

    def __call__(self, key: str) -> object:
        with self._lock:
            self.calls.append(key)
        if self.delay:
            time.sleep(self.delay)
        return object()


def test_concurrent_first_loads_call_the_loader_once() -> None:
    loader = CountingLoader(delay=0.2)
    pool: ModelPool[object] = ModelPool(loader)
    start = threading.Barrier(8)
    results: list[object] = []
    results_lock = threading.Lock()

    def worker() -> None:
        start.wait()
        model = pool.load("m")
        with results_lock:
            results.append(model)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert loader.calls == ["m"]
    assert len(results) == 8
    assert all(model is results[0] for model in results)
    assert pool.is_loaded("m")
    assert pool.loaded() == ["m"]


def test_each_key_is_loaded_separately() -> None:
    loader = CountingLoader()
    pool: ModelPool[object] = ModelPool(loader)

    a = pool.load("a")
    b = pool.load("b")

    assert a is not b
    assert pool.load("a") is a
    assert loader.calls == ["a", "b"]
    assert sorted(pool.loaded()) == ["a", "b"]
    assert not pool.is_loaded("c")


def test_a_borrowed_model_is_not_unloaded_until_returned_and_idle() -> None:
    clock = FakeClock()
    loader = CountingLoader()
    pool: ModelPool[object] = ModelPool(loader, idle_timeout=10, clock=clock)

    with pool.use("m") as model:
        assert model is not None
        clock.now = 1000.0  # far past the timeout while still in use
        assert pool.unload_idle() == []
        assert pool.is_loaded("m")

    # Returned at t=1000: idle only counts from then on.
    clock.now = 1005.0
    assert pool.unload_idle() == []
    assert pool.is_loaded("m")

    clock.now = 1010.5
    assert pool.unload_idle() == ["m"]
    assert not pool.is_loaded("m")
    assert pool.loaded() == []
    assert loader.calls == ["m"]

    again = pool.load("m")
    assert loader.calls == ["m", "m"]
    assert again is not model
    assert pool.is_loaded("m")


def test_only_idle_models_are_unloaded() -> None:
    clock = FakeClock()
    pool: ModelPool[object] = ModelPool(CountingLoader(), idle_timeout=10, clock=clock)
    pool.load("old")
    clock.now = 8.0
    pool.load("recent")

    clock.now = 15.0
    assert pool.unload_idle() == ["old"]
    assert pool.loaded() == ["recent"]


def test_zero_idle_timeout_never_unloads() -> None:
    clock = FakeClock()
    loader = CountingLoader()
    pool: ModelPool[object] = ModelPool(loader, idle_timeout=0, clock=clock)
    model = pool.load("m")

    clock.now = 1e9
    assert pool.unload_idle() == []
    assert pool.is_loaded("m")
    assert pool.load("m") is model
    assert loader.calls == ["m"]


def test_clear_forgets_loaded_models() -> None:
    loader = CountingLoader()
    pool: ModelPool[object] = ModelPool(loader)
    pool.load("m")

    pool.clear()

    assert pool.loaded() == []
    pool.load("m")
    assert loader.calls == ["m", "m"]
