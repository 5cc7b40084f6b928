"""The live session's decisions, on real speech through the real VAD, with a fake engine.

The real model runs the same session end to end in tests/server/test_live_stt.py.
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, field

import numpy as np
import pytest

from tests.conftest import EVAL_DIR
from tests.recordings import _clips
from vocalis.live.endpointing import Endpointing
from vocalis.live.events import BufferLimit, Event, Final, Partial, SpeechStarted, SpeechStopped
from vocalis.live.session import LiveConfig, LiveSession

RATE = 16_000


@dataclass
class CountingEngine:
    """Text is 'w1 w2 ...', two words per second of audio, so decodes of a growing
    utterance agree on their first words."""

    is_busy: bool = False
    calls: list[tuple[float, bool]] = field(default_factory=list)

    async def transcribe(self, audio: np.ndarray, partial: bool) -> str:
        self.calls.append((len(audio) / RATE, partial))
        await asyncio.sleep(0.005)
        return " ".join(f"w{i}" for i in range(1, int(len(audio) / RATE * 2) + 1))

    def busy(self) -> bool:
        return self.is_busy


@pytest.fixture(scope="module")
def speech() -> list[np.ndarray]:
    """A 5-s sentence read without a pause, and a 3-s command."""
    clips = _clips(EVAL_DIR)
    return [clips[1][0], clips[2][0]]


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * RATE), dtype=np.float32)


async def feed(session: LiveSession, audio: np.ndarray, close: bool = True) -> list[Event]:
    events: list[Event] = []

    async def collect() -> None:
        async for event in session.events():
            events.append(event)

    collector = asyncio.create_task(collect())
    for i in range(0, len(audio), 320):  # 20-ms messages
        await session.append(audio[i : i + 320])
        await asyncio.sleep(0)
    if close:
        await session.close()
        await collector
    else:
        await asyncio.sleep(0.1)
        collector.cancel()
    return events


def kinds(events: list[Event]) -> list[str]:
    return [type(e).__name__ for e in events if not isinstance(e, Partial)]


def test_utterances_separated_by_silence_are_separate_finals(speech: list[np.ndarray]) -> None:
    engine = CountingEngine()
    audio = np.concatenate([silence(1), speech[0], silence(1.5), speech[1], silence(1.5)])
    events = asyncio.run(feed(LiveSession(engine), audio))

    assert kinds(events) == ["SpeechStarted", "SpeechStopped", "Final"] * 2
    finals = [e for e in events if isinstance(e, Final)]
    assert [f.item for f in finals] == [0, 1]
    started = [e for e in events if isinstance(e, SpeechStarted)]
    stopped = [e for e in events if isinstance(e, SpeechStopped)]
    # Speech is found where the clip begins (it opens with a breath of silence), and each
    # final starts 300 ms before it (the prefix padding) and ends a short tail after it.
    assert 1.0 <= started[0].at <= 1.6
    assert finals[0].start == pytest.approx(started[0].at - 0.3, abs=0.04)
    assert finals[0].end == pytest.approx(stopped[0].at + 0.16, abs=0.04)
    assert finals[0].duration == pytest.approx(len(speech[0]) / RATE, abs=1.0)
    assert finals[1].start > finals[0].end
    # The speculative decode made at the start of each pause was the final: no second decode.
    assert sum(1 for _, partial in engine.calls if not partial) == 2
    assert 0.8 < stopped[1].at - started[1].at < len(speech[1]) / RATE  # a command in silence


def test_partials_grow_while_speaking(speech: list[np.ndarray]) -> None:
    engine = CountingEngine()
    audio = np.concatenate([speech[0], silence(1)])
    events = asyncio.run(feed(LiveSession(engine, LiveConfig(partial_interval=0.5)), audio))

    partials = [e for e in events if isinstance(e, Partial)]
    assert len(partials) >= 4
    texts = [p.text for p in partials]
    assert all(b.startswith(a) and len(b) > len(a) for a, b in itertools.pairwise(texts))
    assert all(p.text.endswith(p.delta) for p in partials)
    # Every partial precedes the final of its utterance.
    assert isinstance(events[-1], Final) and all(p.item == 0 for p in partials)


def test_partials_are_thinned_while_the_engine_is_busy(speech: list[np.ndarray]) -> None:
    engine = CountingEngine(is_busy=True)
    events = asyncio.run(feed(LiveSession(engine), np.concatenate([speech[0], silence(1)])))
    assert not any(partial for _, partial in engine.calls)
    assert [type(e).__name__ for e in events][-1] == "Final"  # finals are never dropped


def test_silence_alone_gives_nothing() -> None:
    engine = CountingEngine()
    events = asyncio.run(feed(LiveSession(engine), silence(5)))
    assert events == [] and engine.calls == []


def test_close_finishes_the_utterance_in_progress(speech: list[np.ndarray]) -> None:
    engine = CountingEngine()
    events = asyncio.run(feed(LiveSession(engine), speech[0][: int(4.5 * RATE)]))
    final = events[-1]
    assert isinstance(final, Final) and final.duration == pytest.approx(4.5, abs=0.5)


def test_a_commit_ends_the_utterance_now(speech: list[np.ndarray]) -> None:
    async def scenario() -> tuple[int | None, list[Event]]:
        session = LiveSession(CountingEngine())
        events = await feed(session, speech[0][: 3 * RATE], close=False)
        item = await session.commit()
        await session.close()
        return item, events + [e async for e in session.events()]

    item, events = asyncio.run(scenario())
    assert item == 0 and kinds(events)[-2:] == ["SpeechStopped", "Final"]


def test_without_endpointing_the_client_commits(speech: list[np.ndarray]) -> None:
    async def scenario() -> tuple[int | None, int | None, list[Event]]:
        session = LiveSession(CountingEngine(), LiveConfig(endpointing=None))
        empty = await session.commit()
        await feed(session, speech[1], close=False)
        item = await session.commit()
        await session.close()
        return empty, item, [e async for e in session.events()]

    empty, item, events = asyncio.run(scenario())
    assert empty is None and item == 0
    assert len(events) == 1 and isinstance(events[0], Final)
    assert events[0].duration == pytest.approx(len(speech[1]) / RATE, abs=0.01)


def test_the_buffer_cap_commits_what_waits() -> None:
    config = LiveConfig(endpointing=None, buffer_seconds=2.0)
    events = asyncio.run(feed(LiveSession(CountingEngine(), config), silence(3)))
    assert isinstance(events[0], BufferLimit) and events[0].duration == pytest.approx(2.0, abs=0.03)
    assert isinstance(events[1], Final) and events[1].duration == pytest.approx(2.0, abs=0.03)


def test_clear_drops_the_utterance_in_progress(speech: list[np.ndarray]) -> None:
    async def scenario() -> list[Event]:
        session = LiveSession(CountingEngine(), LiveConfig(endpointing=None))
        await feed(session, speech[1], close=False)
        session.clear()
        await session.close()
        return [e async for e in session.events()]

    assert asyncio.run(scenario()) == []


def test_abort_drops_pending_text(speech: list[np.ndarray]) -> None:
    async def scenario() -> list[Event]:
        session = LiveSession(CountingEngine(), LiveConfig(endpointing=Endpointing()))
        await feed(session, speech[0][: 4 * RATE], close=False)
        await session.abort()
        return [e async for e in session.events()]

    assert not any(isinstance(e, Final) for e in asyncio.run(scenario()))


@dataclass
class SlowEngine(CountingEngine):
    cancelled: int = 0

    async def transcribe(self, audio: np.ndarray, partial: bool) -> str:
        self.calls.append((len(audio) / RATE, partial))
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        return "never"


def test_abort_cancels_the_decodes_still_waiting(speech: list[np.ndarray]) -> None:
    engine = SlowEngine()

    async def scenario() -> None:
        session = LiveSession(engine)
        await feed(session, np.concatenate([speech[1], silence(1), speech[0][: 2 * RATE]]), False)
        await session.abort()
        await asyncio.sleep(0)

    asyncio.run(scenario())
    assert engine.cancelled >= 1 and engine.cancelled == len(engine.calls)
