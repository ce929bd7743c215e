"""API-key authentication for /v1 routes (or the web session cookie, for the pages'
scripts), then the caller's request quota."""

from __future__ import annotations

from typing import Annotated

from fastapi import Request, Security
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer

from greffier.http.session import SESSION_COOKIE, cookie_principal
from greffier.services.principal import Principal

# Declared for the OpenAPI document (each /v1 operation takes one or the other); the key is
# read below, leniently, so that every failure gets the same 401 in the OpenAI shape.
_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="apiKey",
    description="An API key (`greffier admin create-key`): `Authorization: Bearer grf_…`.",
)
_session = APIKeyCookie(
    name=SESSION_COOKIE,
    auto_error=False,
    scheme_name="webSession",
    description="The web interface's session cookie; writes also need the X-CSRF-Token header.",
)


def require_key(
    request: Request,
    _key: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)] = None,
    _cookie: Annotated[str | None, Security(_session)] = None,
) -> Principal:
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
