"""Liveness and readiness. Liveness never touches a model, so it answers while models work."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from vocalis.server.deps import ServicesDep

router = APIRouter(tags=["health"])


@router.get("/health")
@router.get("/healthz")
@router.get("/healthcheck")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/ready")
async def ready(services: ServicesDep) -> JSONResponse:
    default = services.stt.default_model
    loaded = services.stt.pool.is_loaded(default)
    body = {"status": "ready" if loaded else "loading", "default_model": default, "loaded": loaded}
    return JSONResponse(body, status_code=200 if loaded else 503)
