"""Loaded models and their lifecycle: load once on first use, share, unload when idle.

A model is loaded at most once even when many requests ask for it together, and never
unloaded while a request holds it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from vocalis.errors import ModelLoadFailed, VocalisError
from vocalis.models.budget import MemoryBudget

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass
class _Entry(Generic[T]):
    lock: threading.Lock = field(default_factory=threading.Lock)
    model: T | None = None
    users: int = 0
    last_used: float = 0.0


class ModelPool(Generic[T]):
    """Holds loaded models by key; `loader(key)` builds one (in the calling thread)."""

    def __init__(
        self,
        loader: Callable[[str], T],
        idle_timeout: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
        budget: MemoryBudget | None = None,
        size_hint: Callable[[str], int] = lambda key: 0,
    ):
        self._loader = loader
        self._idle_timeout = idle_timeout
        self._clock = clock
        self._entries: dict[str, _Entry[T]] = {}
        self._guard = threading.Lock()
        self._budget = budget
        self._size_hint = size_hint
        if budget is not None:
            budget.join(self)
        # Told (key, seconds) after each load, in the loading thread: the metrics' hook.
        self.on_load: list[Callable[[str, float], None]] = []

    def _entry(self, key: str) -> _Entry[T]:
        with self._guard:
            return self._entries.setdefault(key, _Entry())

    def load(self, key: str) -> T:
        entry = self._entry(key)
        # The per-model lock makes concurrent first requests wait for one load.
        with entry.lock:
            model = entry.model  # a local: the budget may unload the entry meanwhile
            if model is None:
                started = time.perf_counter()
                entry.model = model = self._checked_load(key)
                seconds = time.perf_counter() - started
                log.info("loaded model %s in %.2f s", key, seconds)
                for listener in self.on_load:
                    listener(key, seconds)
            entry.last_used = self._clock()
            return model

    def _checked_load(self, key: str) -> T:
        """The loader's model; an engine's own failure becomes one clear error."""
        try:
            return self._budgeted_load(key)
        except VocalisError:
            raise
        except Exception as exc:
            log.exception("loading model %s failed", key)
            raise ModelLoadFailed(key, exc) from exc

    def _budgeted_load(self, key: str) -> T:
        if self._budget is None:
            return self._loader(key)
        self._budget.make_room(self, key, self._size_hint(key))
        before = self._budget.measure()
        model = self._loader(key)
        grew = self._budget.measure() - before
        # No less than its files: a load that reuses memory freed earlier grows the process
        # by less than the model holds (in one test run, whisper-tiny.en by a few MiB).
        self._budget.loaded(self, key, max(grew, self._size_hint(key)))
        return model

    @contextmanager
    def use(self, key: str) -> Iterator[T]:
        """Borrow a model; it cannot be unloaded until the block ends."""
        entry = self._entry(key)
        with self._guard:
            entry.users += 1
        try:
            yield self.load(key)
        finally:
            with self._guard:
                entry.users -= 1
                entry.last_used = self._clock()

    def is_loaded(self, key: str) -> bool:
        entry = self._entries.get(key)
        return entry is not None and entry.model is not None

    def loaded(self) -> list[str]:
        # A copy: a worker thread may add an entry meanwhile.
        return [key for key, entry in list(self._entries.items()) if entry.model is not None]

    def loaded_idle(self) -> list[tuple[float, str]]:
        with self._guard:
            return [
                (entry.last_used, key)
                for key, entry in self._entries.items()
                if entry.model is not None and entry.users == 0
            ]

    def unload(self, key: str) -> bool:
        """Drop a model nobody holds (to make room under the memory budget)."""
        with self._guard:
            entry = self._entries.get(key)
            if entry is None or entry.model is None or entry.users > 0:
                return False
            entry.model = None
        log.info("unloaded model %s to stay within the memory budget", key)
        return True

    def unload_idle(self) -> list[str]:
        """Drop models unused for longer than the idle timeout; returns their keys."""
        if self._idle_timeout <= 0:
            return []
        now = self._clock()
        dropped = []
        with self._guard:
            for key, entry in self._entries.items():
                idle = now - entry.last_used > self._idle_timeout
                if entry.model is not None and entry.users == 0 and idle:
                    entry.model = None
                    dropped.append(key)
        for key in dropped:
            log.info("unloaded idle model %s", key)
            if self._budget is not None:
                self._budget.forget(self, key)
        return dropped

    def clear(self) -> None:
        with self._guard:
            self._entries.clear()
