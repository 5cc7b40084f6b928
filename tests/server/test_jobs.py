"""The job queue's pacing: long work gives way to short work, and stops when cancelled."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator

import pytest

from vocalis.server.jobs import JobCancelled, JobQueue
from vocalis.stt import stopping


def test_a_background_job_waits_while_a_foreground_job_runs() -> None:
    order: list[str] = []

    async def main() -> None:
        queue = JobQueue(max_running=2, max_queued=2)
        long_going, short_running = threading.Event(), threading.Event()

        def long_job() -> None:
            with queue.pace() as pace:
                pace.step(long=True)  # alone: goes on at once
                order.append("long step 1")
                long_going.set()
                short_running.wait(5)
                pace.step(long=True)  # a foreground job runs: wait for it
                order.append("long step 2")

        def short_job() -> None:
            short_running.set()
            time.sleep(0.3)
            order.append("short done")

        long_task = asyncio.ensure_future(queue.run(long_job))
        await asyncio.to_thread(long_going.wait, 5)
        await asyncio.gather(long_task, queue.run(short_job))
        assert queue.running == 0 and queue.background == 0

    asyncio.run(main())
    assert order == ["long step 1", "short done", "long step 2"]


def test_a_short_step_does_not_wait() -> None:
    async def main() -> float:
        queue = JobQueue(max_running=2, max_queued=2)

        def job() -> float:
            with queue.pace() as pace:
                started = time.monotonic()
                pace.step(long=False)
                return time.monotonic() - started

        results = await asyncio.gather(queue.run(job), queue.run(job))
        return max(results)

    assert asyncio.run(main()) < 0.1


def test_a_cancelled_job_stops_at_its_next_step() -> None:
    queue = JobQueue(max_running=1, max_queued=0)
    cancelled = threading.Event()
    steps = 0
    with pytest.raises(JobCancelled), queue.pace(cancelled) as pace:
        for _ in range(5):
            pace.step(long=True)
            steps += 1
            if steps == 2:
                cancelled.set()
    assert steps == 2
    assert queue.background == 0


def test_busy_counts_requests_and_full_slots_but_not_a_long_job_that_gives_way() -> None:
    """Live partials are skipped while the queue is `busy`."""
    states: list[bool] = []

    async def main() -> None:
        queue = JobQueue(max_running=2, max_queued=2)
        states.append(queue.busy)  # idle
        in_background, release = threading.Event(), threading.Event()

        def long_job() -> None:
            with queue.pace() as pace:
                pace.step(long=True)
                in_background.set()
                release.wait(5)

        long_task = asyncio.ensure_future(queue.run(long_job))
        await asyncio.to_thread(in_background.wait, 5)
        states.append(queue.busy)  # one long job in the background, one slot free
        short = asyncio.ensure_future(queue.run(time.sleep, 0.3))
        await asyncio.sleep(0.1)
        states.append(queue.busy)  # a request's job runs
        await short
        second = asyncio.ensure_future(queue.run(long_job))
        await asyncio.sleep(0.1)
        states.append(queue.busy)  # both slots taken
        release.set()
        await asyncio.gather(long_task, second)

    asyncio.run(main())
    assert states == [False, False, True, True]


def test_each_step_of_a_stream_obeys_its_stop_flag_on_whichever_thread_takes_it() -> None:
    cancelled = threading.Event()

    def steps() -> Iterator[int]:
        for n in range(5):
            stopping.check()  # what each engine call does first
            yield n

    async def main() -> list[int]:
        queue = JobQueue(max_running=1, max_queued=1)
        got: list[int] = []
        with pytest.raises(stopping.Stopped):
            async for n in queue.stream(steps(), cancelled):
                got.append(n)
                if n == 1:
                    cancelled.set()
        assert queue.running == 0  # the slot is free again
        return got

    assert asyncio.run(main()) == [0, 1]
