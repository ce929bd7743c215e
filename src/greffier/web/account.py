"""Sign in (API key, or user name and password), sign out, choose the language; one's own
account page (who made a key for you or set your password)."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from greffier.errors import AuthenticationFailed, InvalidRequest, SignInThrottled
from greffier.http.session import SESSION_COOKIE, session_of
from greffier.web import i18n
from greffier.web.http import (
    LANG_COOKIE,
    PageRoute,
    SignedIn,
    form_session,
    local_path,
    redirect,
    render,
)

router = APIRouter(route_class=PageRoute)


@router.get("/")
def home(request: Request) -> Response:
    try:
        signed_in = session_of(request) is not None
    except AuthenticationFailed:
        signed_in = False
    return redirect("/chat" if signed_in else "/sign-in")


def _page(request: Request, status_code: int = 200, **context) -> Response:
    values = {
        "error": None,
        "error_values": {},
        "method": "key",
        "name": "",
        "signed_out": False,
    } | context
    return render(request, "sign_in.html", "sign-in", "signin.title", status_code, **values)


@router.get("/sign-in")
def sign_in_page(request: Request, next: str | None = None, signed_out: int = 0) -> Response:
    return _page(request, next=local_path(next), signed_out=bool(signed_out))


def _same_origin(request: Request) -> bool:
    # Login CSRF: a sign-in form posted from another site is refused. Browsers say where
    # a request comes from (Sec-Fetch-Site, Origin); tools that say nothing (curl) are not
    # a browser to protect.
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        return site in ("same-origin", "none")
    origin = request.headers.get("origin")
    if origin is None:
        return True
    return origin.split("://", 1)[-1] == request.headers.get("host", "")


@router.post("/sign-in")
def sign_in(
    request: Request,
    method: str = Form("key"),
    key: str = Form(""),
    name: str = Form(""),
    password: str = Form(""),
    next: str = Form("/chat"),
) -> Response:
    sessions = request.app.state.services.sessions
    try:
        if not _same_origin(request):
            raise InvalidRequest("Cross-site sign-in refused.", code="cross_site")
        if method == "password":
            # The client's address as the server sees it: a trusted proxy's
            # X-Forwarded-For is already applied (setting trusted_proxies).
            address = request.client.host if request.client else ""
            opened = sessions.open_with_password(name, password, address)
        else:
            opened = sessions.open_with_key(key)
    except SignInThrottled as exc:
        response = _page(
            request,
            429,
            next=local_path(next),
            error="signin.throttled",
            error_values={"seconds": exc.retry_after},
            method=method,
            name=name,
        )
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    except (AuthenticationFailed, InvalidRequest) as exc:
        error = "signin.failed_password" if method == "password" else "signin.failed_key"
        if exc.code == "cross_site":
            error = "signin.cross_site"
        return _page(
            request,
            401 if isinstance(exc, AuthenticationFailed) else 400,
            next=local_path(next),
            error=error,
            method=method,
            name=name,
        )
    # Something was done to this person's credentials since they last looked: their
    # account page first, then where they were going.
    target = local_path(next)
    if opened.notices:
        target = f"/account?next={quote(target, safe='/')}"
    response = redirect(target)
    settings = request.app.state.services.settings
    response.set_cookie(
        SESSION_COOKIE,
        opened.token,
        max_age=int(settings.web_session_hours * 3600),
        path="/",
        httponly=True,
        samesite="strict",
        # Over HTTPS (directly, or said so by a trusted proxy), always Secure.
        secure=settings.web_secure_cookie or request.url.scheme == "https",
    )
    return response


@router.get("/account")
def account_page(request: Request, session: SignedIn, next: str | None = None) -> Response:
    """Your account: the notices about your credentials, newest first. Looking at them
    marks them read (they stay listed)."""
    found = request.app.state.services.identity.account(session.principal, mark_seen=True)
    return render(
        request,
        "account.html",
        "account",
        "account.title",
        account=found.user,
        notices=found.notices,
        next=local_path(next) if next else None,
    )


@router.post("/sign-out")
def sign_out(request: Request, csrf: str = Form("")) -> Response:
    form_session(request, csrf)
    request.app.state.services.sessions.close(request.cookies[SESSION_COOKIE])
    response = redirect("/sign-in?signed_out=1")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.post("/language")
def choose_language(request: Request, lang: str = Form(...), next: str = Form("/")) -> Response:
    response = redirect(local_path(next, "/"))
    if lang in i18n.LANGUAGES:
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 24 * 3600, path="/", samesite="strict")
    return response
