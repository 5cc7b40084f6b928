"""The one seam where blocking work (decode, inference, encode) leaves the event loop.

At most `max_running` jobs run at once in worker threads; up to `max_queued` more wait;
beyond that a request is refused with 429 so a burst cannot pile up unbounded work.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from typing import ParamSpec, TypeVar

from starlette.concurrency import iterate_in_threadpool, run_in_threadpool

from vocalis.errors import ServerBusy

P = ParamSpec("P")
T = TypeVar("T")


class JobQueue:
    def __init__(self, max_running: int, max_queued: int, retry_after: int = 5):
        self.max_running = max_running
        self.max_queued = max_queued
        self.retry_after = retry_after
        self._slots = asyncio.Semaphore(max_running)
        self.waiting = 0
        self.running = 0

    def check_capacity(self) -> None:
        if self._slots.locked() and self.waiting >= self.max_queued:
            raise ServerBusy(
                f"The server is busy: {self.running} jobs running and {self.waiting} queued. "
                "Retry shortly.",
                retry_after=self.retry_after,
            )

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        self.check_capacity()
        async with self._occupy():
            yield

    @asynccontextmanager
    async def _occupy(self) -> AsyncIterator[None]:
        self.waiting += 1
        try:
            await self._slots.acquire()
        finally:
            self.waiting -= 1
        self.running += 1
        try:
            yield
        finally:
            self.running -= 1
            self._slots.release()

    async def run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run a blocking call in a worker thread once a slot is free."""
        async with self.slot():
            return await run_in_threadpool(fn, *args, **kwargs)

    def stream(self, iterator: Iterator[T]) -> AsyncIterator[T]:
        """Drive a blocking generator from worker threads, holding one slot throughout.

        Capacity is checked now, so a full queue is refused before a response starts.
        """
        self.check_capacity()
        return self._stream(iterator)

    async def _stream(self, iterator: Iterator[T]) -> AsyncIterator[T]:
        async with self._occupy():
            async for item in iterate_in_threadpool(iterator):
                yield item
