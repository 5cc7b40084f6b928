"""`vocalis listen`: live transcription in the terminal, from a microphone or a file.

In this process, the same live core as the server's `/ws/stt` (a session over the shared
model, decodes through a job queue); with `--server`, the audio goes to a running Vocalis
over `/ws/stt` instead. Partials are redrawn in place on stderr, finals printed line by
line on stdout, and a summary line ends the run.
"""

from __future__ import annotations

import asyncio
import json
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from rich.console import Console
from rich.live import Live
from rich.text import Text
from starlette.concurrency import iterate_in_threadpool

from vocalis.audio.decode import SAMPLE_RATE, Samples
from vocalis.audio.encode import to_s16le
from vocalis.config import Settings
from vocalis.live.engine import Runner
from vocalis.live.events import Event, Final, Partial
from vocalis.live.session import LiveSession
from vocalis.models.store import ModelStore
from vocalis.server.jobs import JobQueue
from vocalis.server.live import endpointing, engine, live_config
from vocalis.stt.service import SpeechToText


@contextmanager
def source(
    path: Path | None, device: str | None, fast: bool, seconds: float | None
) -> Iterator[Iterator[Samples]]:
    """The audio to listen to, ending at `seconds`, or at Ctrl+C (which still flushes)."""
    from vocalis.audio.capture import microphone, play_file

    stop = threading.Event()
    previous = signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        if path is not None:
            yield _until(play_file(path, realtime=not fast), stop, seconds)
        else:
            with microphone(device) as mic:
                yield _until(iter(mic), stop, seconds)
    finally:
        signal.signal(signal.SIGINT, previous)


def _until(
    blocks: Iterator[Samples], stop: threading.Event, seconds: float | None
) -> Iterator[Samples]:
    limit = int(seconds * SAMPLE_RATE) if seconds else None
    done = 0
    for block in blocks:
        if stop.is_set():
            return
        if limit is not None and done + len(block) >= limit:
            yield block[: limit - done]
            return
        done += len(block)
        yield block


@dataclass
class Display:
    """Partials in place (stderr), finals as lines (stdout), counts for the summary."""

    out: Console
    err: Console
    finals: int = 0
    audio_seconds: float = 0.0
    decode_seconds: float = 0.0
    started: float = field(default_factory=time.monotonic)
    _live: Live | None = None

    def __enter__(self) -> Display:
        self._live = Live(Text(""), console=self.err, transient=True, auto_refresh=False)
        self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.__exit__(None, None, None)

    def partial(self, text: str) -> None:
        if self._live is not None:
            self._live.update(Text(text, style="dim"), refresh=True)

    def final(self, text: str) -> None:
        if not text:
            return
        self.finals += 1
        self.partial("")
        self.out.print(text, highlight=False, soft_wrap=True)

    def summary(self) -> str:
        wall = time.monotonic() - self.started
        line = f"{self.audio_seconds:.1f} s of audio, {self.finals} utterances, {wall:.1f} s"
        if self.decode_seconds:
            rtf = self.decode_seconds / max(self.audio_seconds, 1e-9)
            line += f"; decoding {self.decode_seconds:.1f} s (RTF {rtf:.2f})"
        return line


def listen_here(
    settings: Settings,
    store: ModelStore,
    source: Iterator[Samples],
    display: Display,
    model: str | None,
    language: str | None,
) -> None:
    """The live core in this process, on the model loaded here."""
    stt = SpeechToText(settings, store)
    stt.pool.load(stt.resolve(model).id)
    asyncio.run(_listen_here(stt, settings, source, display, model, language))


async def _listen_here(
    stt: SpeechToText,
    settings: Settings,
    source: Iterator[Samples],
    display: Display,
    model: str | None,
    language: str | None,
) -> None:
    jobs = JobQueue(settings.max_concurrent_jobs, settings.max_queued_jobs)
    live_engine = engine(stt, jobs, model, language, run=_timed(jobs.run_waiting, display))
    session = LiveSession(live_engine, live_config(settings, endpointing(settings)))
    shown = asyncio.create_task(_show(session, display))
    async for block in iterate_in_threadpool(source):
        display.audio_seconds += len(block) / SAMPLE_RATE
        await session.append(block)
    await session.close()
    await shown


def _timed(run: Runner, display: Display) -> Runner:
    """The runner, adding each decode's time to the display's count."""

    async def timed(fn: Callable[[], str]) -> str:
        def work() -> str:
            start = time.monotonic()
            try:
                return fn()
            finally:
                display.decode_seconds += time.monotonic() - start

        return await run(work)

    return timed


async def _show(session: LiveSession, display: Display) -> None:
    async for event in session.events():
        _render(event, display)


def _render(event: Event, display: Display) -> None:
    if isinstance(event, Partial):
        display.partial(event.text)
    elif isinstance(event, Final):
        display.final(event.text)


def listen_remote(
    url: str, source: Iterator[Samples], display: Display, model: str | None, language: str | None
) -> None:
    """Stream to a running Vocalis over `/ws/stt`."""
    asyncio.run(_listen_remote(stt_url(url, model, language), source, display))


def stt_url(url: str, model: str | None, language: str | None) -> str:
    base = url.rstrip("/")
    if base.startswith("http"):
        base = "ws" + base[4:]
    query = {"sample_rate": SAMPLE_RATE, "model": model, "language": language}
    return f"{base}/ws/stt?" + urlencode({k: v for k, v in query.items() if v})


async def _listen_remote(url: str, source: Iterator[Samples], display: Display) -> None:
    from websockets.asyncio.client import connect

    async with connect(url, max_size=None) as ws:
        receiver = asyncio.create_task(_receive(ws, display))
        async for block in iterate_in_threadpool(source):
            display.audio_seconds += len(block) / SAMPLE_RATE
            await ws.send(to_s16le(block))
        await ws.send(json.dumps({"type": "close"}))
        await receiver


async def _receive(ws: Any, display: Display) -> None:
    from websockets.exceptions import ConnectionClosed

    try:
        async for message in ws:
            frame = json.loads(message) if isinstance(message, str) else {}
            kind = frame.get("type")
            if kind == "partial":
                display.partial(frame["text"])
            elif kind == "transcript":
                display.final(frame["text"])
            elif kind == "error":
                display.err.print(f"[red]server:[/red] {frame['error']['message']}")
    except ConnectionClosed:
        pass
