"""OpenAI's model list and model object."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from vocalis.errors import ModelNotFound
from vocalis.models.catalog import ModelSpec
from vocalis.server.deps import ServicesDep

router = APIRouter(tags=["models"])

# A fixed creation time keeps responses stable; OpenAI's field is a Unix timestamp.
CREATED = 1_735_689_600


def model_object(spec: ModelSpec, name: str | None = None) -> dict[str, Any]:
    return {"id": name or spec.id, "object": "model", "created": CREATED, "owned_by": "vocalis"}


@router.get("/v1/models")
async def list_models(services: ServicesDep) -> dict[str, Any]:
    specs = services.store.catalog.specs
    return {"object": "list", "data": [model_object(spec) for spec in specs]}


@router.get("/v1/models/{model_id:path}")
async def get_model(model_id: str, services: ServicesDep) -> dict[str, Any]:
    spec = services.store.catalog.get(model_id)
    if spec is None:
        raise ModelNotFound(f"The model '{model_id}' does not exist.", param=None)
    return model_object(spec, model_id)
