"""API-key authentication for /v1 routes (or the web session cookie, for the pages'
scripts), then the caller's request quota."""

from __future__ import annotations

from fastapi import Request

from greffier.http.session import cookie_principal
from greffier.services.principal import Principal


def require_key(request: Request) -> Principal:
    """FastAPI dependency (sync: it runs in the threadpool, off the event loop)."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    key = token.strip() if scheme.lower() == "bearer" else ""
    services = request.app.state.services
    # The web interface's scripts send no key: their session cookie stands for it.
    principal = None if key else cookie_principal(request)
    if principal is None:
        principal = services.identity.authenticate(key)
    request.state.principal = principal
    services.quotas.admit(principal)
    return principal
