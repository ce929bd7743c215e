"""GET /v1/models and /v1/models/{id}: the catalogue, with openness cards (and, for one
model, its report card's measures).

The list holds the models this server can serve now (files and runtime installed), so a
client's model menu offers nothing that fails; each says its ``role`` (chat, embedding,
speech, speaker) for clients that filter. ``?all=true`` lists the whole catalogue."""

from __future__ import annotations

from fastapi import APIRouter, Request

from greffier.api.errors import documented
from greffier.models.cards import model_card

router = APIRouter(prefix="/v1", tags=["models"])


@router.get("/models")
def list_models(request: Request, all: bool = False) -> dict:
    services = request.app.state.services
    registry, models_dir = services.registry, services.settings.models_dir
    cards = [(e, registry.ready(e)) for e in registry.entries()]
    return {
        "object": "list",
        "data": [model_card(e, models_dir, ready) for e, ready in cards if ready or all],
    }


@router.get("/models/{model_id:path}", responses=documented(404))
def get_model(model_id: str, request: Request) -> dict:
    """The model with its openness card and, as extension fields, the report card's
    measures on this server (``evaluations``: bias, answers, French token parity)."""
    return request.app.state.services.reports.card(model_id)
