"""Administration pages (admins only): users, API keys, groups, quotas and the audit log.

Plain HTML forms posted with the session's CSRF token; each action calls the service an
API route or the CLI would call, and comes back to its page with a notice. A new key is
shown once, on the page that answers its creation.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from greffier.errors import GreffierError, InvalidRequest
from greffier.http.inputs import CredentialRequestId, GroupId, KeyId, UserId
from greffier.services.identity import Pending
from greffier.web.http import (
    Admin,
    PageRoute,
    admin_session,
    form_session,
    redirect,
    render,
)

router = APIRouter(prefix="/admin", route_class=PageRoute)

AUDIT_ROWS = 200


SECTIONS = ("users", "keys", "groups", "quotas", "audit")


def _page(
    request: Request, section: str, status_code: int = 200, error: str | None = None, **extra
) -> Response:
    services = request.app.state.services
    who = request.state.session.principal
    if section not in SECTIONS:
        section = "users"
    context: dict = {"users": services.identity.users(who)}
    if section == "keys":
        context["keys"] = services.identity.list_keys(who)
        context["requests"] = services.identity.requests(who)
    elif section == "groups":
        context["groups"] = services.access.groups(who)
    elif section == "quotas":
        context["quotas"] = services.quotas.quotas(who)
        context["keys"] = [k for k in services.identity.list_keys(who) if k.active]
        context["groups"] = services.access.groups(who)
    elif section == "audit":
        filters = {
            k: v for k in ("user", "action") if (v := request.query_params.get(k, "").strip())
        }
        context["filters"] = filters
        context["entries"] = list(services.audit.entries(who, limit=AUDIT_ROWS, **filters))
    done = request.query_params.get("done", "")
    defaults = {
        "notice": f"admin.done.{done}" if done.isidentifier() else None,
        "error": error,
        "new_key": None,
    }
    return render(
        request,
        "admin.html",
        "admin",
        "admin.title",
        status_code=status_code,
        section=section,
        sections=SECTIONS,
        **(defaults | context | extra),
    )


@router.get("")
def admin_home(request: Request, session: Admin) -> Response:
    return redirect("/admin/users")


@router.get("/{section}")
def admin_section(section: str, request: Request, session: Admin) -> Response:
    return _page(request, section)


def _act(request: Request, csrf: str, section: str, action: Callable[[object], str]) -> Response:
    """Check the session (admin, CSRF), run ``action(principal)``; back to the section with
    its notice, or the section again with the error."""
    session = form_session(request, csrf)
    admin_session(request)
    try:
        done = action(session.principal)
    except GreffierError as exc:
        if exc.status >= 500:
            raise
        return _page(request, section, exc.status, error=exc.full_message)
    if isinstance(done, Response):
        return done
    return redirect(f"/admin/{section}?done={done}")


def _int_or_none(value: str, param: str) -> int | None:
    value = value.strip()
    if not value:
        return None
    if not value.isdigit():
        raise InvalidRequest(f"{param} must be a whole number.", param=param)
    return int(value)


# --- users ----------------------------------------------------------------------------------


@router.post("/users")
def create_user(
    request: Request,
    csrf: str = Form(""),
    name: str = Form(""),
    role: str = Form("member"),
    password: str = Form(""),
) -> Response:
    identity = request.app.state.services.identity

    def action(who) -> str:
        identity.create_user(who, name, role, password or None)
        return "user_created"

    return _act(request, csrf, "users", action)


@router.post("/users/{user_id}")
def update_user(
    user_id: UserId,
    request: Request,
    csrf: str = Form(""),
    action: str = Form(...),
    password: str = Form(""),
) -> Response:
    identity = request.app.state.services.identity

    def run(who) -> str:
        if action in ("disable", "enable"):
            identity.change_user(who, user_id, disabled=action == "disable")
            return f"user_{action}d"
        if action in ("admin", "member"):
            identity.change_user(who, user_id, role=action)
            return "role_changed"
        if action == "password":
            change = identity.change_user(who, user_id, password=password)
            return "request_recorded" if change.pending else "password_set"
        raise InvalidRequest(f"Unknown action '{action}'.", param="action")

    return _act(request, csrf, "users", run)


# --- keys -----------------------------------------------------------------------------------


@router.post("/keys")
def create_key(
    request: Request,
    csrf: str = Form(""),
    user_id: str = Form(""),
    label: str = Form(""),
    expires_days: str = Form(""),
) -> Response:
    identity = request.app.state.services.identity

    def action(who):
        uid = _int_or_none(user_id, "user_id")
        if uid is None:
            raise InvalidRequest("Choose the user the key is for.", param="user_id")
        issued = identity.key_for(
            who, uid, label.strip(), _int_or_none(expires_days, "expires_days")
        )
        if isinstance(issued, Pending):
            return "request_recorded"
        return _page(request, "keys", 201, new_key=issued.key, notice="admin.done.key_created")

    return _act(request, csrf, "keys", action)


@router.post("/requests/{request_id}")
def decide_request(
    request_id: CredentialRequestId,
    request: Request,
    csrf: str = Form(""),
    action: str = Form(...),
) -> Response:
    """A second admin approves a credential request (a key is shown once, here) or any
    admin cancels it."""
    identity = request.app.state.services.identity

    def run(who):
        if action == "cancel":
            identity.cancel(who, request_id)
            return "request_cancelled"
        if action != "approve":
            raise InvalidRequest(f"Unknown action '{action}'.", param="action")
        issued = identity.approve(who, request_id)
        if issued is None:
            return "request_approved"
        return _page(request, "keys", 201, new_key=issued.key, notice="admin.done.key_created")

    return _act(request, csrf, "keys", run)


@router.post("/keys/{key_id}/revoke")
def revoke_key(key_id: KeyId, request: Request, csrf: str = Form("")) -> Response:
    identity = request.app.state.services.identity

    def action(who) -> str:
        identity.revoke_key(who, key_id)
        return "key_revoked"

    return _act(request, csrf, "keys", action)


# --- groups, quotas (access control) --------------------------------------------------------


@router.post("/groups")
def create_group(
    request: Request, csrf: str = Form(""), name: str = Form(""), description: str = Form("")
) -> Response:
    access = request.app.state.services.access

    def action(who) -> str:
        access.create_group(who, name, description)
        return "group_created"

    return _act(request, csrf, "groups", action)


@router.post("/groups/{group_id}")
def change_group(
    group_id: GroupId,
    request: Request,
    csrf: str = Form(""),
    action: str = Form(...),
    member: str = Form(""),
    kind: str = Form("user"),
) -> Response:
    access = request.app.state.services.access

    def run(who) -> str:
        if action == "delete":
            access.delete_group(who, group_id)
            return "group_deleted"
        subject = {"group": member.strip()} if kind == "group" else {"user": member.strip()}
        if action == "add":
            access.add_member(who, group_id, **subject)
            return "member_added"
        if action == "remove":
            access.remove_member(who, group_id, **subject)
            return "member_removed"
        raise InvalidRequest(f"Unknown action '{action}'.", param="action")

    return _act(request, csrf, "groups", run)


@router.post("/quotas")
def set_quota(
    request: Request,
    csrf: str = Form(""),
    subject: str = Form(""),
    requests_per_minute: str = Form(""),
    tokens_per_day: str = Form(""),
) -> Response:
    quotas = request.app.state.services.quotas

    def action(who) -> str:
        kind, _, value = subject.partition(":")
        target = {"key_id": _int_or_none(value, "subject")} if kind == "key" else {"group": value}
        if kind not in ("key", "group") or not value:
            raise InvalidRequest("Choose a key or a group.", param="subject")
        quotas.set(
            who,
            **target,
            requests_per_minute=_int_or_none(requests_per_minute, "requests_per_minute"),
            tokens_per_day=_int_or_none(tokens_per_day, "tokens_per_day"),
        )
        return "quota_set"

    return _act(request, csrf, "quotas", action)
