"""OpenAI's model list and model object."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from vocalis.errors import ModelNotFound
from vocalis.models.catalog import ModelSpec
from vocalis.server.deps import ServicesDep
from vocalis.tts.voices import TTS_ALIASES

router = APIRouter(tags=["models"])

# A fixed creation time keeps responses stable; OpenAI's field is a Unix timestamp.
CREATED = 1_735_689_600


def model_object(name: str) -> dict[str, Any]:
    return {"id": name, "object": "model", "created": CREATED, "owned_by": "vocalis"}


def _names(specs: tuple[ModelSpec, ...]) -> list[str]:
    # OpenAI's speech model names are served too: they pick an engine by voice.
    return [spec.id for spec in specs] + sorted(TTS_ALIASES)


@router.get("/v1/models")
async def list_models(services: ServicesDep) -> dict[str, Any]:
    names = _names(services.store.catalog.specs)
    return {"object": "list", "data": [model_object(name) for name in names]}


@router.get("/v1/models/{model_id:path}")
async def get_model(model_id: str, services: ServicesDep) -> dict[str, Any]:
    if services.store.catalog.get(model_id) is None and model_id not in TTS_ALIASES:
        raise ModelNotFound(f"The model '{model_id}' does not exist.", param=None)
    return model_object(model_id)
