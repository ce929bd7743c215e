"""API-key authentication for /v1 routes."""

from __future__ import annotations

from fastapi import Request

from greffier.services.identity import Principal


def require_key(request: Request) -> Principal:
    """FastAPI dependency (sync: it runs in the threadpool, off the event loop)."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    key = token.strip() if scheme.lower() == "bearer" else ""
    principal = request.app.state.services.identity.authenticate(key)
    request.state.principal = principal
    return principal
