"""GET /v1/models and /v1/models/{id}: the catalogue, with openness cards."""

from __future__ import annotations

from fastapi import APIRouter, Request

from greffier.api.errors import documented
from greffier.models.cards import model_card

router = APIRouter(prefix="/v1", tags=["models"])


@router.get("/models")
def list_models(request: Request) -> dict:
    services = request.app.state.services
    return {
        "object": "list",
        "data": [model_card(e, services.settings.models_dir) for e in services.registry.entries()],
    }


@router.get("/models/{model_id:path}", responses=documented(404))
def get_model(model_id: str, request: Request) -> dict:
    services = request.app.state.services
    return model_card(services.registry.entry(model_id), services.settings.models_dir)
