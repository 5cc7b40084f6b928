"""Graceful shutdown: stop taking work, let what runs finish, then go.

On the first SIGTERM or SIGINT the server drains: readiness turns 503 at once (so a load
balancer stops sending), new requests get 503 with Retry-After, live connections are told
to finish (they answer what they hold, then close with 1001), and running jobs get up to
`VOCALIS_SHUTDOWN_GRACE` seconds. Then uvicorn closes the listeners and the process exits 0.
A second signal exits at once, with status 1.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
from collections.abc import Callable, Generator
from types import FrameType
from typing import Any

import uvicorn
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocket

from vocalis.errors import ShuttingDown
from vocalis.server.errors import error_response

log = logging.getLogger(__name__)

CLOSE_GOING_AWAY = 1001
# What a client is told to wait before it retries elsewhere or here.
RETRY_AFTER_SECONDS = 5
# Paths that keep answering while the server drains: probes must see the state.
PROBE_PATHS = frozenset({"/health", "/healthz", "/healthcheck", "/ready"})
POLL_SECONDS = 0.1
# A second signal: work was cut off, which a supervisor should see.
FORCED_EXIT_STATUS = 1
# A live connection reads what its client sent just before the drain, until a pause this
# long or for at most LAST_WORDS_SECONDS (a client streaming in real time never pauses).
QUIET_SECONDS = 0.25
LAST_WORDS_SECONDS = 2.0


class Drain:
    """The server's one shutdown state, shared by the probes, the gate and live routes."""

    def __init__(self) -> None:
        self._event: asyncio.Event | None = None
        self.draining = False

    def begin(self) -> None:
        self.draining = True
        if self._event is not None:
            self._event.set()

    async def wait(self) -> None:
        """Returns once the server drains: a live connection's cue to finish."""
        if self._event is None:
            self._event = asyncio.Event()
            if self.draining:
                self._event.set()
        await self._event.wait()

    def refusal(self) -> ShuttingDown:
        return ShuttingDown(
            "The server is shutting down; retry in a few seconds.",
            retry_after=RETRY_AFTER_SECONDS,
        )


class DrainGate:
    """ASGI middleware: while draining, new requests get 503 and new WebSockets 1001."""

    def __init__(self, app: ASGIApp, drain: Drain) -> None:
        self.app = app
        self.drain = drain

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self.drain.draining or scope["type"] == "lifespan":
            return await self.app(scope, receive, send)
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": CLOSE_GOING_AWAY})
            return None
        if scope["path"] in PROBE_PATHS:
            return await self.app(scope, receive, send)
        await error_response(self.drain.refusal())(scope, receive, send)
        return None


class DrainingServer(uvicorn.Server):
    """uvicorn, with a drain before its own shutdown and exit status 0 after a signal.

    `idle` says when no work is left (jobs and live connections); the drain waits for it
    up to `grace` seconds, then lets uvicorn stop.
    """

    def __init__(
        self, config: uvicorn.Config, drain: Drain, idle: Callable[[], bool], grace: float
    ) -> None:
        super().__init__(config)
        self.drain = drain
        self.idle = idle
        self.grace = grace
        self._loop: asyncio.AbstractEventLoop | None = None
        self._draining: asyncio.Task[None] | None = None

    async def serve(self, sockets: list[object] | None = None) -> None:  # type: ignore[override]
        self._loop = asyncio.get_running_loop()
        await super().serve(sockets)  # type: ignore[arg-type]

    def run(self, sockets: list[object] | None = None) -> None:  # type: ignore[override]
        super().run(sockets)  # type: ignore[arg-type]
        if self.force_exit:
            # Worker threads still decoding would hold the interpreter's exit: leave now.
            logging.shutdown()
            os._exit(FORCED_EXIT_STATUS)

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        """uvicorn's, without raising the signal again at the end: a drained stop is clean."""
        signals = (signal.SIGINT, signal.SIGTERM)
        original = {sig: signal.signal(sig, self.handle_exit) for sig in signals}
        try:
            yield
        finally:
            for sig, handler in original.items():
                signal.signal(sig, handler)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self.drain.draining or self._loop is None:
            log.warning("second signal: exiting now")
            self.force_exit = self.should_exit = True
            return
        self._loop.call_soon_threadsafe(self._start_drain)

    def _start_drain(self) -> None:
        log.info("draining: no new work, up to %g s for what runs", self.grace)
        self.drain.begin()
        self._draining = asyncio.create_task(self._finish())

    async def _finish(self) -> None:
        deadline = time.monotonic() + self.grace
        await asyncio.sleep(POLL_SECONDS)  # live connections first hear the cue
        while not self.idle() and time.monotonic() < deadline:
            await asyncio.sleep(POLL_SECONDS)
        left = deadline - time.monotonic()
        if left <= 0:
            log.warning("grace of %g s is over: stopping with work still running", self.grace)
        # uvicorn's own wait for open responses gets what is left of the grace.
        self.config.timeout_graceful_shutdown = max(1, int(left))
        self.should_exit = True


class Receiver:
    """A live connection's next message, or None once the server drains: its cue to answer
    what it holds and close with 1001. What the client sent just before the drain (frames
    still in flight) is read first, for at most LAST_WORDS_SECONDS."""

    def __init__(self, websocket: WebSocket, drain: Drain) -> None:
        self.websocket = websocket
        self.drain = drain
        self._draining: asyncio.Future[None] | None = None
        self._until: float | None = None

    async def next(self, timeout: float) -> Message | None:
        """Raises TimeoutError after `timeout` seconds without a message."""
        if self.drain.draining:
            return await self._in_flight()
        if self._draining is None:
            self._draining = asyncio.ensure_future(self.drain.wait())
        receiving: asyncio.Future[Any] = asyncio.ensure_future(self.websocket.receive())
        racing: set[asyncio.Future[Any]] = {receiving, self._draining}
        done, _ = await asyncio.wait(racing, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        if receiving in done:
            message: Message = receiving.result()
            return message
        receiving.cancel()
        if self._draining in done:
            return await self._in_flight()
        raise TimeoutError

    async def _in_flight(self) -> Message | None:
        """Messages that keep coming within QUIET_SECONDS of each other, then None."""
        now = time.monotonic()
        if self._until is None:
            self._until = now + LAST_WORDS_SECONDS
        left = min(QUIET_SECONDS, self._until - now)
        if left <= 0:
            return None
        try:
            return await asyncio.wait_for(self.websocket.receive(), left)
        except TimeoutError:
            return None

    def close(self) -> None:
        if self._draining is not None:
            self._draining.cancel()

    @property
    def close_code(self) -> int:
        """How a connection that ends normally closes: 1001 when the server is going away."""
        return CLOSE_GOING_AWAY if self.drain.draining else 1000
