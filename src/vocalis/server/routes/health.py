"""Liveness and readiness. Neither loads a model, so both answer at once while models work."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from vocalis import __version__
from vocalis.server.deps import Services, ServicesDep

router = APIRouter(tags=["health"])


@router.get("/health")
@router.get("/healthz")
@router.get("/healthcheck")
async def health(services: ServicesDep) -> dict[str, Any]:
    """What an operator wants at a glance: up, which models are in memory, since when."""
    return {
        "status": "ok",
        "version": __version__,
        "uptime_seconds": round(time.monotonic() - services.started, 1),
        **loaded_models(services),
    }


def loaded_models(services: Services) -> dict[str, Any]:
    stt = services.stt.pool.loaded()
    return {
        "whisper_loaded": bool(stt),
        "stt_models_loaded": stt,
        "tts_engines_loaded": services.tts.pool.loaded(),
    }


@router.get("/ready")
async def ready(services: ServicesDep) -> JSONResponse:
    body = readiness(services)
    return JSONResponse(body, status_code=200 if body["status"] == "ready" else 503)


def readiness(services: Services) -> dict[str, Any]:
    default = services.stt.default_model
    loaded = services.stt.pool.is_loaded(default)
    status = "draining" if services.drain.draining else "ready" if loaded else "loading"
    return {"status": status, "default_model": default, "loaded": loaded}
