"""The web session cookie and its CSRF check, as the API and the pages both read them.

A browser signed in to the web interface calls ``/v1`` with its session cookie instead of
an API key; a state-changing request must then carry the session's CSRF token in a header
(pages' forms send it as a field). The session itself is the SessionService's.
"""

from __future__ import annotations

import hmac

from fastapi import Request

from greffier.errors import PermissionDenied
from greffier.services.principal import Principal
from greffier.services.sessions import Session

SESSION_COOKIE = "greffier_session"
CSRF_HEADER = "x-csrf-token"
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def check_csrf(session: Session, sent: str | None) -> None:
    if not sent or not hmac.compare_digest(sent, session.csrf):
        raise PermissionDenied(
            "This request did not come from a Greffier page (missing or wrong CSRF token): "
            "reload the page and try again.",
            code="csrf_failed",
        )


def session_of(request: Request) -> Session | None:
    """The session of the request's cookie; None without a cookie. AuthenticationFailed
    when the cookie no longer opens a session."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    return request.app.state.services.sessions.resolve(token)


def cookie_principal(request: Request) -> Principal | None:
    """For ``/v1`` calls made by the web interface's scripts (no Authorization header):
    the session's principal, after the CSRF header check on state-changing methods.
    None when the request carries no session cookie."""
    session = session_of(request)
    if session is None:
        return None
    if request.method in UNSAFE:
        check_csrf(session, request.headers.get(CSRF_HEADER))
    return session.principal
