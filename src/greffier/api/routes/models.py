"""GET /v1/models and /v1/models/{id}: the catalogue, with openness cards."""

from __future__ import annotations

from fastapi import APIRouter, Request

from greffier.models import files
from greffier.models.catalogue import ModelEntry

router = APIRouter(prefix="/v1", tags=["models"])
_CREATED = 1735689600  # catalogue entries have no creation date; a fixed one keeps ids stable


def model_card(entry: ModelEntry, models_dir) -> dict:
    """The OpenAI model object plus Greffier's extension fields."""
    available = (not entry.has_file) or files.model_path(models_dir, entry).is_file()
    return {
        "id": entry.id,
        "object": "model",
        "created": _CREATED,
        "owned_by": "greffier",
        "name": entry.name,
        "role": entry.role.value,
        "backend": entry.backend,
        "licence": entry.licence,
        "context_length": entry.context_length,
        "available": available,
        "openness": {
            "verdict": entry.openness.verdict,
            "components": {
                name: component.model_dump(mode="json")
                for name, component in entry.openness.components()
            },
        },
    }


@router.get("/models")
def list_models(request: Request) -> dict:
    services = request.app.state.services
    return {
        "object": "list",
        "data": [model_card(e, services.settings.models_dir) for e in services.registry.entries()],
    }


@router.get("/models/{model_id:path}")
def get_model(model_id: str, request: Request) -> dict:
    services = request.app.state.services
    return model_card(services.registry.entry(model_id), services.settings.models_dir)
