"""One memory budget over every loaded model, across pools.

Before a load that would take the models past the budget, the least recently used models
that nobody holds are unloaded. A model's size is what the process grew by while loading
it (measured), but never less than what its files weigh (a close estimate for ONNX and
CTranslate2 weights, and the size before its first load). A model held by a request is
never unloaded, so a budget too small for the work at hand is exceeded rather than failing
the request; that is logged.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from typing import Protocol

log = logging.getLogger(__name__)

PAGE = os.sysconf("SC_PAGE_SIZE")


def resident_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


class Member(Protocol):
    """What a pool shows the budget: its loaded models and a way to drop an idle one."""

    def loaded_idle(self) -> list[tuple[float, str]]:
        """(last used, key) of each loaded model that nobody holds."""
        ...

    def unload(self, key: str) -> bool:
        """Drop the model if nobody holds it; False if someone took it meanwhile."""
        ...


class MemoryBudget:
    def __init__(self, limit_bytes: int, measure: Callable[[], int] = resident_bytes) -> None:
        self.limit = limit_bytes
        self.measure = measure
        self._sizes: dict[tuple[int, str], int] = {}
        self._members: dict[int, Member] = {}
        self._lock = threading.Lock()

    def join(self, member: Member) -> None:
        self._members[id(member)] = member

    def make_room(self, member: Member, key: str, estimate: int) -> list[str]:
        """Unload least recently used idle models until `key` fits; the keys dropped."""
        with self._lock:
            need = self._sizes.get((id(member), key), estimate)
            dropped: list[str] = []
            for _, owner, other in self._candidates(member, key):
                if self._used() + need <= self.limit:
                    break
                if owner.unload(other):
                    self._sizes.pop((id(owner), other), None)
                    dropped.append(other)
            if self._used() + need > self.limit:
                log.warning(
                    "loading %s takes the models past the memory budget of %d MiB: the "
                    "others are in use",
                    key,
                    self.limit // 2**20,
                )
            return dropped

    def loaded(self, member: Member, key: str, size: int) -> None:
        with self._lock:
            self._sizes[(id(member), key)] = size

    def forget(self, member: Member, key: str) -> None:
        with self._lock:
            self._sizes.pop((id(member), key), None)

    def _used(self) -> int:
        return sum(self._sizes.values())

    def _candidates(self, member: Member, key: str) -> list[tuple[float, Member, str]]:
        found = [
            (last_used, owner, other)
            for owner in self._members.values()
            for last_used, other in owner.loaded_idle()
            if (owner, other) != (member, key)
        ]
        return sorted(found, key=lambda c: c[0])
