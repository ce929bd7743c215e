"""Operators' routes, without an API key: ``/health`` (liveness and per-model load),
``/health/live``, ``/health/ready`` (for load balancers and orchestrators) and
``/metrics`` (Prometheus), the last protected by setting ``metrics_token``, or answered
only to this machine when no token is set."""

from __future__ import annotations

import hmac
from dataclasses import asdict

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from greffier import __version__
from greffier.errors import AuthenticationFailed, PermissionDenied
from greffier.metrics import CONTENT_TYPE

router = APIRouter(tags=["health"])
LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})


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


@router.get("/health/live")
def live() -> dict:
    """The process answers."""
    return {"status": "ok"}


@router.get(
    "/health/ready",
    responses={503: {"description": "Not ready: the checks that fail, by name."}},
)
def ready(request: Request) -> JSONResponse:
    """200 when the database, the job queue and the configured models can serve; 503
    with the reasons otherwise."""
    readiness = request.app.state.services.health.readiness()
    body = {"status": "ready" if readiness.ready else "not ready", "checks": readiness.checks}
    return JSONResponse(body, status_code=200 if readiness.ready else 503)


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    services = request.app.state.services
    token = services.settings.metrics_token
    if token:
        scheme, _, sent = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(sent.strip(), token):
            raise AuthenticationFailed("/metrics needs the token of setting metrics_token.")
    elif (request.client.host if request.client else "") not in LOOPBACK:
        raise PermissionDenied(
            "/metrics answers this machine only; set metrics_token to let Prometheus scrape "
            "from elsewhere.",
            code="metrics_forbidden",
        )
    return Response(services.metrics.render(), media_type=CONTENT_TYPE)
