"""GET /health: liveness and per-model load, without authentication."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, Request

from greffier import __version__

router = APIRouter(tags=["health"])


@router.get("/health")
def health(request: Request) -> dict:
    registry = request.app.state.services.registry
    return {
        "status": "ok",
        "version": __version__,
        "models": {
            model_id: {k: v for k, v in asdict(backend.stats).items() if k != "extra"}
            for model_id, backend in registry.running().items()
        },
    }
