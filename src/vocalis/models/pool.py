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
    ):
        self._loader = loader
        self._idle_timeout = idle_timeout
        self._clock = clock
        self._entries: dict[str, _Entry[T]] = {}
        self._guard = threading.Lock()

    def _entry(self, key: str) -> _Entry[T]:
        with self._guard:
            return self._entries.setdefault(key, _Entry())

    def load(self, key: str) -> T:
        entry = self._entry(key)
        # The per-model lock makes concurrent first requests wait for one load.
        with entry.lock:
            if entry.model is None:
                started = time.perf_counter()
                entry.model = self._loader(key)
                log.info("loaded model %s in %.2f s", key, time.perf_counter() - started)
            entry.last_used = self._clock()
            return entry.model

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
        return dropped

    def clear(self) -> None:
        with self._guard:
            self._entries.clear()
