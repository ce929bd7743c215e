"""HTTP glue of the web interface: the session cookie, CSRF checks, page rendering.

Pages are Jinja2 templates rendered on the server; scripts only enhance them (streaming,
uploads, the audio player). Every page route uses :class:`PageRoute`, which turns domain
errors into an HTML error page (not the API's JSON), sends a person who is not signed in
to the sign-in page, and adds the security headers: a Content-Security-Policy that lets the
page load nothing from anywhere but this server.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import resources
from typing import Annotated
from urllib.parse import quote

import jinja2
from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute

from greffier import __version__
from greffier.errors import AuthenticationFailed, GreffierError, PermissionDenied
from greffier.http.session import CSRF_HEADER, SESSION_COOKIE, check_csrf, session_of
from greffier.services.sessions import Session
from greffier.web import i18n

LANG_COOKIE = "greffier_lang"

# Nothing but this server: no CDN, no web font, no frame, no form posted elsewhere.
# `blob:` for media lets the recorder play back what it recorded before upload.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "media-src 'self' blob:; connect-src 'self'; font-src 'self'; object-src 'none'; "
    "frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": "microphone=(self), camera=(), geolocation=()",
}

NAV = (("chat", "/chat"), ("documents", "/documents"), ("meetings", "/meetings"))
NAV_AFTER = (("models", "/models"),)

_templates = jinja2.Environment(
    loader=jinja2.PackageLoader("greffier.web", "templates"),
    autoescape=jinja2.select_autoescape(default=True),
    trim_blocks=True,
    lstrip_blocks=True,
    undefined=jinja2.StrictUndefined,
)
_STATIC = resources.files("greffier.web") / "static"


class SignInRequired(Exception):
    """Raised by a page that needs a session when there is none (or it ended)."""


def static_url(name: str) -> str:
    # The version in the query: a new release is never served a stale cached script.
    return f"/static/web/{name}?v={__version__}"


def language(request: Request) -> str:
    chosen = request.cookies.get(LANG_COOKIE, "")
    return chosen if chosen in i18n.LANGUAGES else request.app.state.services.settings.web_language


# --- sessions ---------------------------------------------------------------------------


def page_session(request: Request) -> Session:
    """FastAPI dependency of pages that need a signed-in person."""
    try:
        session = session_of(request)
    except AuthenticationFailed:
        session = None
    if session is None:
        raise SignInRequired
    request.state.session = session
    return session


def form_session(request: Request, csrf: str | None) -> Session:
    """The session of a form post, CSRF token checked (hidden field or header)."""
    session = page_session(request)
    check_csrf(session, csrf or request.headers.get(CSRF_HEADER))
    return session


def admin_session(request: Request) -> Session:
    session = page_session(request)
    if not session.principal.is_admin:
        raise PermissionDenied("This page is for administrators.", code="admins_only")
    return session


SignedIn = Annotated[Session, Depends(page_session)]
Admin = Annotated[Session, Depends(admin_session)]


# --- rendering --------------------------------------------------------------------------


def render(
    request: Request,
    template: str,
    page: str,
    title_key: str,
    status_code: int = 200,
    **context,
) -> HTMLResponse:
    lang = language(request)
    session: Session | None = getattr(request.state, "session", None)

    def t(key: str, **values) -> str:
        return i18n.text(lang, key, **values)

    nav = NAV + NAV_AFTER + (("feedback", "/feedback"),)
    if session and session.principal.is_admin:
        nav += (("admin", "/admin"),)
    body = _templates.get_template(template).render(
        request_path=request.url.path + (f"?{request.url.query}" if request.url.query else ""),
        lang=lang,
        t=t,
        page=page,
        page_title=t(title_key) if title_key else context.pop("title", ""),
        session=session,
        nav=nav if session else (),
        static=static_url,
        version=__version__,
        api_docs=request.app.state.services.settings.serves_api_docs,
        js_strings=i18n.script_strings(lang),
        verdict=lambda value: i18n.verdict(lang, value),
        **context,
    )
    return HTMLResponse(body, status_code=status_code)


def render_error(request: Request, exc: GreffierError) -> HTMLResponse:
    session: Session | None = getattr(request.state, "session", None)
    admin = session is not None and session.principal.is_admin
    return render(
        request,
        "error.html",
        "error",
        "error.title",
        status_code=exc.status,
        message=exc.full_message if admin else exc.message,  # paths and fixes: admins only
        status=exc.status,
    )


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def local_path(target: str | None, default: str = "/chat") -> str:
    """Only a path on this server (no open redirect to another site)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


class PageRoute(APIRoute):
    """A route whose errors are pages: sign-in redirect, HTML error page, security headers."""

    def get_route_handler(self) -> Callable:
        handler = super().get_route_handler()

        async def page(request: Request) -> Response:
            try:
                response = await handler(request)
            except SignInRequired:
                wanted = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                response = redirect(f"/sign-in?next={quote(wanted, safe='/')}")
                response.delete_cookie(SESSION_COOKIE, path="/")
            except GreffierError as exc:
                response = render_error(request, exc)
            response.headers.update(SECURITY_HEADERS)
            response.headers.setdefault("Cache-Control", "no-store")
            return response

        return page
