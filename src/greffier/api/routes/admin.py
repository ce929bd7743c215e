"""Admin-only routes: users, API keys, credential requests, groups, quotas, audit log,
erasure, usage totals.

A key or password that would let an admin act as someone who already has content or
credentials is answered 202 with a credential request: a second admin approves it
(docs/security.md)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, model_validator

from greffier.api.bodies import NonBlank, Subject, exactly_one, require_one
from greffier.api.errors import documented
from greffier.api.links import links
from greffier.http.inputs import CredentialRequestId, GroupId, KeyId, UserId
from greffier.services.identity import MIN_PASSWORD, NAME_PATTERN, ROLES, IssuedKey, Pending
from greffier.store.records import MAX_ID

router = APIRouter(prefix="/v1/admin", tags=["admin"], responses=documented(403, 404))

BODY = documented(413)  # operations that take a body

USER = links(
    {
        "/v1/admin/users/{user_id}": ("patch", "delete"),
        "/v1/admin/users/{user_id}/keys": ("get", "post"),
    },
    user_id="$response.body#/id",
)
KEY = links(
    {"/v1/admin/keys/{key_id}/rotate": ("post",), "/v1/admin/keys/{key_id}": ("delete",)},
    key_id="$response.body#/id",
)
GROUP = links(
    {
        "/v1/admin/groups/{group_id}": ("delete",),
        "/v1/admin/groups/{group_id}/members": ("post", "delete"),
    },
    group_id="$response.body#/id",
)
Role = Literal[ROLES]
Password = Annotated[str, Field(min_length=MIN_PASSWORD, max_length=1024)]
PENDING = {202: {"description": "A credential request a second admin must approve."}}


def _admin(request: Request):
    """The services and the caller; each service checks that the caller is an admin."""
    return request.app.state.services, request.state.principal


def _user(record) -> dict:
    return {"object": "user", **asdict(record)}


def _key(record) -> dict:
    fields = asdict(record) | {"active": record.active, "expired": record.expired}
    return {"object": "api_key", **fields}


def _request(record) -> dict:
    return {"object": "credential_request", **asdict(record)}


def _issued_or_pending(result: IssuedKey | Pending) -> JSONResponse:
    """201 with the key (shown once), or 202 with the request a second admin must approve."""
    if isinstance(result, Pending):
        return JSONResponse(_request(result.request), status_code=202)
    body = {"object": "api_key", "id": result.record_id, "prefix": result.prefix}
    return JSONResponse(body | {"key": result.key}, status_code=201)


class NewUser(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=64, pattern=NAME_PATTERN)
    role: Role = "member"
    password: Password | None = None


class UserChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Role | None = None
    disabled: bool | None = None
    password: Password | None = None


class NewKey(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: str = Field("", max_length=200)
    expires_days: int | None = Field(None, ge=1, le=3660)


@router.get("/users")
def list_users(request: Request) -> dict:
    services, who = _admin(request)
    return {"object": "list", "data": [_user(u) for u in services.identity.users(who)]}


@router.post(
    "/users",
    status_code=201,
    responses={201: {"description": "The user.", "links": USER}} | BODY | documented(409),
)
def create_user(body: NewUser, request: Request) -> dict:
    services, who = _admin(request)
    return _user(services.identity.create_user(who, body.name, body.role, body.password))


@router.patch("/users/{user_id}", response_model=None, responses=BODY | PENDING)
def change_user(user_id: UserId, body: UserChange, request: Request) -> dict | JSONResponse:
    """The user as changed; 202 with a credential request when the new password waits for
    a second admin (role and state changes are made at once)."""
    services, who = _admin(request)
    change = services.identity.change_user(
        who, user_id, role=body.role, disabled=body.disabled, password=body.password
    )
    if change.pending is not None:
        return JSONResponse(_request(change.pending.request), status_code=202)
    return _user(change.user)


@router.delete("/users/{user_id}")
def erase_user(user_id: UserId, request: Request) -> dict:
    """Right to erasure: the account and everything derived from what it owns."""
    services, who = _admin(request)
    report = services.erasure.erase(who, user_id)
    return {"object": "erasure", "complete": report.complete, **asdict(report)}


@router.get("/users/{user_id}/keys")
def list_user_keys(user_id: UserId, request: Request) -> dict:
    services, who = _admin(request)
    return {"object": "list", "data": [_key(k) for k in services.identity.list_keys(who, user_id)]}


@router.post(
    "/users/{user_id}/keys",
    status_code=201,
    response_model=None,
    responses={201: {"description": "The key.", "links": KEY}} | BODY | PENDING,
)
def create_key(user_id: UserId, body: NewKey, request: Request) -> JSONResponse:
    """A new key, shown once in `key`; or 202 and a credential request for a second admin."""
    services, who = _admin(request)
    return _issued_or_pending(
        services.identity.key_for(who, user_id, body.label, body.expires_days)
    )


@router.post(
    "/keys/{key_id}/rotate",
    status_code=201,
    response_model=None,
    responses={201: {"description": "The new key.", "links": KEY}} | PENDING,
)
def rotate_key(key_id: KeyId, request: Request) -> JSONResponse:
    services, who = _admin(request)
    return _issued_or_pending(services.identity.rotate_key(who, key_id))


@router.get("/credential-requests")
def list_credential_requests(request: Request) -> dict:
    """Keys and passwords waiting for a second admin."""
    services, who = _admin(request)
    return {"object": "list", "data": [_request(r) for r in services.identity.requests(who)]}


@router.post("/credential-requests/{request_id}/approve", response_model=None)
def approve_credential_request(
    request_id: CredentialRequestId, request: Request
) -> dict | JSONResponse:
    """Approve another admin's request: a key is made and shown once, here, to you (201);
    a password is set (200)."""
    services, who = _admin(request)
    issued = services.identity.approve(who, request_id)
    if issued is None:
        return {"object": "credential_request", "id": request_id, "status": "approved"}
    return _issued_or_pending(issued)


@router.delete("/credential-requests/{request_id}")
def cancel_credential_request(request_id: CredentialRequestId, request: Request) -> dict:
    services, who = _admin(request)
    services.identity.cancel(who, request_id)
    return {"object": "credential_request", "id": request_id, "status": "cancelled"}


@router.delete("/keys/{key_id}")
def revoke_key(key_id: KeyId, request: Request) -> dict:
    services, who = _admin(request)
    services.identity.revoke_key(who, key_id)
    return {"object": "api_key", "id": key_id, "revoked": True}


class NewGroup(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: NonBlank(64)
    description: str = Field("", max_length=2000)


@router.get("/groups")
def list_groups(request: Request) -> dict:
    services, who = _admin(request)
    return {"object": "list", "data": [asdict(g) for g in services.access.groups(who)]}


@router.post(
    "/groups",
    status_code=201,
    responses={201: {"description": "The group.", "links": GROUP}} | BODY | documented(409),
)
def create_group(body: NewGroup, request: Request) -> dict:
    services, who = _admin(request)
    return asdict(services.access.create_group(who, body.name, body.description))


@router.delete("/groups/{group_id}")
def delete_group(group_id: GroupId, request: Request) -> dict:
    services, who = _admin(request)
    services.access.delete_group(who, group_id)
    return {"object": "group", "id": group_id, "deleted": True}


@router.post("/groups/{group_id}/members", responses=BODY)
def add_member(group_id: GroupId, body: Subject, request: Request) -> dict:
    services, who = _admin(request)
    return asdict(services.access.add_member(who, group_id, user=body.user, group=body.group))


@router.delete("/groups/{group_id}/members", responses=BODY)
def remove_member(group_id: GroupId, body: Subject, request: Request) -> dict:
    services, who = _admin(request)
    return asdict(services.access.remove_member(who, group_id, user=body.user, group=body.group))


class Quota(BaseModel):
    """The quota of one key or one group; both limits null removes it."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=exactly_one("key_id", "group"))

    key_id: KeyId | None = None
    group: str | None = Field(None, min_length=1, max_length=64)
    requests_per_minute: int | None = Field(None, ge=1, le=1_000_000)
    tokens_per_day: int | None = Field(None, ge=1, le=10**12)

    @model_validator(mode="after")
    def _one_subject(self):
        require_one(self, "key_id", "group")
        return self


@router.get("/quotas")
def list_quotas(request: Request) -> dict:
    services, who = _admin(request)
    return {"object": "list", "data": [asdict(q) for q in services.quotas.quotas(who)]}


@router.put("/quotas", responses=BODY)
def set_quota(body: Quota, request: Request) -> dict:
    services, who = _admin(request)
    services.quotas.set(who, **body.model_dump())
    return {"object": "quota", **body.model_dump()}


AuditFilterId = Query(None, ge=1, le=MAX_ID)
DOWNLOADS = {
    "application/x-ndjson": {"schema": {"type": "string"}},
    "text/csv": {"schema": {"type": "string"}},
}


@router.get("/audit", responses={200: {"content": DOWNLOADS}})
def audit(
    request: Request,
    user: str | None = None,
    action: str | None = None,
    document: int | None = AuditFilterId,
    meeting: int | None = AuditFilterId,
    since: str | None = Query(None, description="From this time on (ISO 8601, UTC)."),
    until: str | None = Query(None, description="Before this time (ISO 8601, UTC)."),
    limit: int = Query(100, ge=1, le=10000),
    format: Literal["json", "jsonl", "csv"] = "json",
):
    """The audit log, newest first, filtered; `format=jsonl|csv` streams a download."""
    services, who = _admin(request)
    resource = ("document", document) if document else ("meeting", meeting) if meeting else None
    filters = {
        "user": user,
        "action": action,
        "resource": resource,
        "since": since,
        "until": until,
    }
    if format == "json":
        entries = services.audit.entries(who, limit=limit, **filters)
        return {"object": "list", "data": [asdict(e) for e in entries]}
    media = "application/x-ndjson" if format == "jsonl" else "text/csv"
    return StreamingResponse(
        services.audit.export(who, format, **filters),
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="audit.{format}"'},
    )


@router.get("/usage")
def usage(request: Request, days: int = Query(30, ge=1, le=3660)) -> dict:
    services, who = _admin(request)
    rows = services.usage.totals(who, days)
    return {"object": "list", "days": days, "data": [asdict(r) for r in rows]}
