"""GET /v1/models and /v1/models/{id}: the catalogue, with openness cards (and, for one
model, its report card's measures)."""

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
    """The model with its openness card and, as extension fields, the report card's
    measures on this server (``evaluations``: bias, answers, French token parity)."""
    return request.app.state.services.reports.card(model_id)
