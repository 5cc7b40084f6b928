"""Prometheus metrics at GET /metrics, one registry per app (never the global one).

Requests are measured by ASGI middleware, by route template so that ids in paths do not
multiply series. What only a route knows (how much audio, which model) it reports with
`record_audio` next to its access log line; errors are counted where the error handlers
write the envelope. Both find the app's metrics through the request's context.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Protocol

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900)
RTF_BUCKETS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 5, 10)
FIRST_AUDIO_BUCKETS = (0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 30)
LOAD_BUCKETS = (0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300)
UNMATCHED = "<unmatched>"  # a path no route serves: one series, however many paths
SPEECH_ROUTE = "/v1/audio/speech"
# How many of the latest requests' figures the status page lists.
RECENT = 20
# No `_created` series beside every counter and histogram: they double the page for nothing
# a dashboard uses. (A process-wide switch of the client library.)
disable_created_metrics()  # type: ignore[no-untyped-call]  # the library leaves it unannotated


class Queue(Protocol):
    """What the job queue shows: jobs waiting for a slot, and running."""

    waiting: int
    running: int


class Sessions(Protocol):
    open: int


class Pool(Protocol):
    """A model pool (models/pool.py): what it holds, and whom it tells of each load."""

    on_load: list[Callable[[str, float], None]]

    def loaded(self) -> list[str]: ...


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "vocalis_requests",
            "Requests by route, method and status.",
            ["route", "method", "status"],
            registry=r,
        )
        self.latency = Histogram(
            "vocalis_request_duration_seconds",
            "Time from request to the end of the response.",
            ["route", "method"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.audio = Counter(
            "vocalis_audio_seconds",
            "Seconds of audio transcribed, translated or spoken.",
            ["task", "model"],
            registry=r,
        )
        self.processing = Counter(
            "vocalis_processing_seconds",
            "Seconds spent producing that audio or text.",
            ["task", "model"],
            registry=r,
        )
        self.rtf = Histogram(
            "vocalis_real_time_factor",
            "Processing seconds per second of audio, per request.",
            ["task", "model"],
            buckets=RTF_BUCKETS,
            registry=r,
        )
        self.first_audio = Histogram(
            "vocalis_speech_time_to_first_audio_seconds",
            "Time from a speech request to its first bytes of audio.",
            ["route"],
            buckets=FIRST_AUDIO_BUCKETS,
            registry=r,
        )
        self.model_load = Histogram(
            "vocalis_model_load_seconds",
            "Time to load a model into memory.",
            ["kind", "model"],
            buckets=LOAD_BUCKETS,
            registry=r,
        )
        self.errors = Counter(
            "vocalis_errors", "Error responses by their envelope's code.", ["code"], registry=r
        )
        # The latest requests' figures, newest last, for GET /v1/status.
        self.recent: deque[dict[str, float | str]] = deque(maxlen=RECENT)

    def watch(self, queue: Queue, sessions: Sessions, pools: Mapping[str, Pool]) -> None:
        """Gauges read when scraped, and a hook on each model pool's loads."""
        r = self.registry
        gauge = Gauge("vocalis_jobs_queued", "Jobs waiting for a slot.", registry=r)
        gauge.set_function(lambda: queue.waiting)
        gauge = Gauge("vocalis_jobs_running", "Jobs running in worker threads.", registry=r)
        gauge.set_function(lambda: queue.running)
        gauge = Gauge("vocalis_live_sessions", "Live WebSocket sessions open.", registry=r)
        gauge.set_function(lambda: sessions.open)
        loaded = Gauge("vocalis_models_loaded", "Models in memory.", ["kind"], registry=r)
        for kind, pool in pools.items():
            loaded.labels(kind).set_function(_count_of(pool))
            pool.on_load.append(self._on_load(kind))

    def _on_load(self, kind: str) -> Callable[[str, float], None]:
        return lambda model, seconds: self.model_load.labels(kind, model).observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)


def _count_of(pool: Pool) -> Callable[[], float]:
    return lambda: len(pool.loaded())


_current: ContextVar[Metrics | None] = ContextVar("vocalis_metrics", default=None)


@contextmanager
def counting(metrics: Metrics) -> Iterator[None]:
    """Count what runs in this context and the tasks it starts (the durable jobs' runner),
    not only what a request's middleware wraps."""
    token = _current.set(metrics)
    try:
        yield
    finally:
        _current.reset(token)


def record_audio(task: str, model: str, audio_seconds: float, processing_seconds: float) -> None:
    """One request's or job's figures, as its access line logs them; nothing outside an app."""
    metrics = _current.get()
    if metrics is None or audio_seconds <= 0:
        return
    metrics.audio.labels(task, model).inc(audio_seconds)
    metrics.processing.labels(task, model).inc(processing_seconds)
    rtf = processing_seconds / audio_seconds
    metrics.rtf.labels(task, model).observe(rtf)
    metrics.recent.append(
        {
            "at": round(time.time(), 3),
            "task": task,
            "model": model,
            "audio_seconds": round(audio_seconds, 2),
            "processing_seconds": round(processing_seconds, 3),
            "real_time_factor": round(rtf, 4),
        }
    )


def observe_error(code: str | None) -> None:
    metrics = _current.get()
    if metrics is not None:
        metrics.errors.labels(code or "none").inc()


def endpoint(metrics: Metrics) -> Callable[[Request], Response]:
    def serve_metrics(_: Request) -> Response:
        return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)

    return serve_metrics


class RequestMetrics:
    """ASGI middleware: counts and times every request by route template and status."""

    def __init__(self, app: ASGIApp, metrics: Metrics):
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        exchange = Exchange(scope, self.metrics)
        token = _current.set(self.metrics)
        try:
            await self.app(scope, receive, exchange.wrap(send))
        except Exception:
            # Counted here: the handler that answers 500 runs outside this middleware.
            self.metrics.errors.labels("server_error").inc()
            raise
        finally:
            _current.reset(token)
            exchange.finish()


class Exchange:
    """One request's measurements, taken from the messages its response sends."""

    def __init__(self, scope: Scope, metrics: Metrics):
        self.scope = scope
        self.metrics = metrics
        self.started = time.perf_counter()
        websocket = scope["type"] == "websocket"
        self.method = "WEBSOCKET" if websocket else scope["method"]
        # Unless a response says otherwise: an exception ends as a 500, a socket as refused.
        self.status = 403 if websocket else 500
        self.audio = False

    def wrap(self, send: Send) -> Send:
        async def sending(message: Message) -> None:
            self.observe(message)
            await send(message)

        return sending

    def observe(self, message: Message) -> None:
        kind = message["type"]
        if kind == "http.response.start":
            self.status = message["status"]
            media = Headers(raw=message.get("headers", [])).get("content-type", "")
            speech = media.startswith("audio/") or self.route() == SPEECH_ROUTE
            self.audio = speech and self.status < 400
        elif kind == "http.response.body" and self.audio and message.get("body"):
            self.audio = False  # only the first piece counts
            waited = time.perf_counter() - self.started
            self.metrics.first_audio.labels(self.route()).observe(waited)
        elif kind == "websocket.accept":
            self.status = 101

    def route(self) -> str:
        """The template of the route that served the request, e.g. /v1/models/{model_id}."""
        route = self.scope.get("route") or _match(self.scope)
        path = getattr(route, "path", None)
        return path if isinstance(path, str) else UNMATCHED

    def finish(self) -> None:
        route = self.route()
        self.metrics.requests.labels(route, self.method, str(self.status)).inc()
        elapsed = time.perf_counter() - self.started
        self.metrics.latency.labels(route, self.method).observe(elapsed)


def _match(scope: Scope) -> BaseRoute | None:
    """The route for a request refused before routing (no key, too large, draining)."""
    return _find(scope, getattr(getattr(scope.get("app"), "router", None), "routes", []))


def _find(scope: Scope, routes: list[BaseRoute]) -> BaseRoute | None:
    for route in routes:
        # FastAPI keeps an included router whole; its own routes hold the templates.
        if included := getattr(getattr(route, "original_router", None), "routes", None):
            if found := _find(scope, included):
                return found
        elif route.matches(scope)[0] is Match.FULL:
            return route
    return None
