"""Cross-cutting operations, as ASGI middleware around the whole app: request ids, metrics,
CORS and API keys; plus the log format, /metrics and offline /docs."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware

from vocalis.config import Settings
from vocalis.ops.auth import ApiKeyAuth
from vocalis.ops.docs import install_docs
from vocalis.ops.keys import KeyRing, parse_keys, reload_on_hangup
from vocalis.ops.metrics import (
    Metrics,
    Pool,
    Queue,
    RequestMetrics,
    Sessions,
    counting,
    endpoint,
)
from vocalis.ops.request_id import RequestId

__all__ = ["KeyRing", "Metrics", "Pool", "install"]


def install(
    app: FastAPI,
    settings: Settings,
    queue: Queue,
    sessions: Sessions,
    pools: Mapping[str, Pool],
) -> None:
    """Call last in the app factory: each middleware added wraps those added before, so
    these see every request first, in this order: request id, metrics, CORS, API keys."""
    ring = KeyRing(parse_keys(settings.api_keys.get_secret_value(), ","), settings.api_keys_file)
    metrics = Metrics()
    metrics.watch(queue, sessions, pools)
    app.state.api_keys, app.state.metrics = ring, metrics
    app.add_route("/metrics", endpoint(metrics), methods=["GET"], include_in_schema=False)
    install_docs(app, keyed=ring.enabled)
    open_paths = [*settings.auth_open_paths, *(["/metrics"] if settings.metrics_open else [])]
    app.add_middleware(ApiKeyAuth, ring=ring, open_paths=open_paths)
    if settings.cors_origins:
        # Outside the keys: a preflight carries no key, and a 401 must be readable.
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=["X-Request-ID"],
        )
    app.add_middleware(RequestMetrics, metrics=metrics)
    app.add_middleware(RequestId)
    _wrap_lifespan(app, ring, metrics)


def _wrap_lifespan(app: FastAPI, ring: KeyRing, metrics: Metrics) -> None:
    """While the server runs, SIGHUP re-reads the keys file, and what the app runs in the
    background (durable jobs) is counted in its metrics."""
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(application: Any) -> AsyncIterator[Any]:
        with reload_on_hangup(ring), counting(metrics):
            async with inner(application) as state:
                yield state

    app.router.lifespan_context = lifespan
