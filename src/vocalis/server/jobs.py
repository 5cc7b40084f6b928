"""The one seam where blocking work (decode, inference, encode) leaves the event loop.

At most `max_running` jobs run at once in worker threads; up to `max_queued` more wait;
beyond that a request is refused with 429 so a burst cannot pile up unbounded work.

A long job (a recording of many minutes) calls its `Pace` between steps: once it says it
is long it becomes background work and waits while foreground jobs (a 3-s command, a
sentence to speak) run, so they are not slowed by sharing the cores with it; and it stops
at its next step when its client has gone.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Generic, ParamSpec, TypeVar

from starlette.concurrency import iterate_in_threadpool, run_in_threadpool
from starlette.requests import Request

from vocalis import memory
from vocalis.errors import ServerBusy
from vocalis.stt import stopping

P = ParamSpec("P")
T = TypeVar("T")
# A background job waits at most this long per step, so steady short work cannot starve it.
GIVE_WAY_SECONDS = 10.0
# A request still sending its body while its job runs is looked at again this often.
DISCONNECT_POLL_SECONDS = 0.1


class JobCancelled(Exception):
    """The client went away; the job stopped at its next step."""


class JobQueue:
    def __init__(self, max_running: int, max_queued: int, retry_after: int = 5):
        self.max_running = max_running
        self.max_queued = max_queued
        self.retry_after = retry_after
        self._slots = asyncio.Semaphore(max_running)
        # Guards `running` and `background`, which worker threads wait on.
        self._state = threading.Condition()
        self.waiting = 0
        self.running = 0
        self.background = 0

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
        self._count(running=1)
        try:
            yield
        finally:
            self._count(running=-1)
            self._slots.release()
            # What the job freed goes back to the system, in a worker thread, unawaited.
            asyncio.get_running_loop().run_in_executor(None, memory.release)

    def _count(self, running: int = 0, background: int = 0) -> None:
        with self._state:
            self.running += running
            self.background += background
            self._state.notify_all()

    async def run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run a blocking call in a worker thread once a slot is free."""
        async with self.slot():
            return await run_in_threadpool(fn, *args, **kwargs)

    async def run_waiting(self, fn: Callable[[], T]) -> T:
        """Like `run`, but waits for a slot however long the queue: for work that must not
        be dropped once accepted (a live utterance's final text)."""
        async with self._occupy():
            return await run_in_threadpool(fn)

    @property
    def idle(self) -> bool:
        """No job at all, running or waiting: a draining server may stop."""
        return self.running == 0 and self.waiting == 0

    @property
    def busy(self) -> bool:
        """Optional work (live partials) should wait: a request's job runs or waits, or no
        slot is free. A long job in the background (it gives way) does not count."""
        foreground = self.running - self.background
        return foreground > 0 or self.waiting > 0 or self.running >= self.max_running

    def stream(
        self, iterator: Iterator[T], cancelled: threading.Event | None = None
    ) -> AsyncIterator[T]:
        """Drive a blocking generator from worker threads, holding one slot throughout;
        with `cancelled`, each step's engine calls stop once it is set (stt/stopping.py).

        Capacity is checked now, so a full queue is refused before a response starts.
        """
        self.check_capacity()
        return self._stream(_Steps(iterator, cancelled) if cancelled else iterator)

    async def _stream(self, iterator: Iterator[T]) -> AsyncIterator[T]:
        async with self._occupy():
            async for item in iterate_in_threadpool(iterator):
                yield item

    @contextmanager
    def pace(self, cancelled: threading.Event | None = None) -> Iterator[Pace]:
        """A job's pace for the duration of the block; use it inside the job."""
        pace = Pace(self, cancelled or threading.Event())
        try:
            yield pace
        except stopping.Stopped:  # the engine saw the same flag between two of its calls
            raise JobCancelled from None
        finally:
            if pace.background:
                self._count(background=-1)

    def give_way(self) -> None:
        """In a background job's thread: wait while any foreground job runs."""
        with self._state:
            self._state.wait_for(lambda: self.running <= self.background, GIVE_WAY_SECONDS)


class _Steps(Generic[T]):
    """An iterator whose every step, on whichever worker thread takes it, stops at its next
    engine call once `cancelled` is set: the flag is set around each step, not the whole."""

    def __init__(self, steps: Iterator[T], cancelled: threading.Event):
        self.steps = steps
        self.cancelled = cancelled

    def __iter__(self) -> _Steps[T]:
        return self

    def __next__(self) -> T:
        with stopping.stops_when(self.cancelled):
            return next(self.steps)


class Pace:
    def __init__(self, queue: JobQueue, cancelled: threading.Event):
        self.queue = queue
        self.cancelled = cancelled
        self.background = False

    def step(self, long: bool) -> None:
        """Between two steps of a job: stop if cancelled; if long, let foreground work go first."""
        if self.cancelled.is_set():
            raise JobCancelled
        if not long:
            return
        if not self.background:
            self.background = True
            self.queue._count(background=1)
        self.queue.give_way()
        if self.cancelled.is_set():
            raise JobCancelled


@asynccontextmanager
async def cancel_on_disconnect(
    request: Request, on_disconnect: Callable[[], None] | None = None
) -> AsyncIterator[threading.Event]:
    """An event that is set when the request's client disconnects, for a job to check;
    `on_disconnect` is called then too (a speech request's `switch.stop`)."""
    cancelled = threading.Event()

    async def watch() -> None:
        # The body has been read: the server's next message is the disconnect, at once.
        while (await request.receive())["type"] != "http.disconnect":
            await asyncio.sleep(DISCONNECT_POLL_SECONDS)  # more body: not expected, no spin
        cancelled.set()
        if on_disconnect:
            on_disconnect()

    watcher = asyncio.create_task(watch())
    try:
        yield cancelled
    finally:
        watcher.cancel()
