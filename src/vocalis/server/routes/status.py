"""GET /v1/status: what the web page's Status panel shows, in one small JSON document.

Health and readiness, the models in memory and on disk, the job queue, live sessions, the
latest requests with their real-time factor, and the effective settings without secrets.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from vocalis.config import Settings
from vocalis.ops.metrics import Metrics
from vocalis.server.deps import Services, ServicesDep
from vocalis.server.routes.health import health, readiness
from vocalis.stt.languages import LANGUAGES

router = APIRouter(tags=["health"])

# Settings that hold a secret: never shown, only whether they are set.
SECRETS = ("api_keys", "llm_api_key")


@router.get("/v1/status")
async def status(request: Request, services: ServicesDep) -> dict[str, Any]:
    metrics: Metrics = request.app.state.metrics
    return {
        **await health(services),
        "ready": readiness(services)["status"],
        "default_stt_model": services.stt.default_model,
        "stt_models_installed": await run_in_threadpool(installed_stt_models, services),
        "languages": sorted(LANGUAGES),
        "queue": {
            "running": services.jobs.running,
            "waiting": services.jobs.waiting,
            "max_running": services.jobs.max_running,
            "max_queued": services.jobs.max_queued,
        },
        "live_sessions": services.live.open,
        "draining": services.drain.draining,
        "llm_configured": bool(services.settings.llm_url),
        "api_keys_required": request.app.state.api_keys.enabled,
        "recent_requests": list(reversed(metrics.recent)),
        "settings": public_settings(services.settings),
    }


def installed_stt_models(services: Services) -> list[str]:
    store = services.store
    return [spec.id for spec in store.catalog.of_kind("stt") if store.status(spec).installed]


def public_settings(settings: Settings) -> dict[str, Any]:
    """Every setting as JSON, each secret replaced by whether it is set."""
    shown = settings.model_dump(mode="json", exclude=set(SECRETS))
    for name in SECRETS:
        value = getattr(settings, name)
        secret = value.get_secret_value() if hasattr(value, "get_secret_value") else value
        shown[name] = "(set)" if secret else ""
    return shown
