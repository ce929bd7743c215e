"""Admin-only routes: users, API keys, groups, quotas, audit log, erasure, usage totals."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, model_validator

from greffier.api.bodies import NonBlank, Subject, exactly_one, require_one
from greffier.api.errors import documented
from greffier.api.links import links
from greffier.http.inputs import GroupId, KeyId, UserId
from greffier.services.identity import MIN_PASSWORD, NAME_PATTERN, ROLES
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


def _admin(request: Request):
    """The services and the caller; each service checks that the caller is an admin."""
    return request.app.state.services, request.state.principal


def _user(record) -> dict:
    return {"object": "user", **asdict(record)}


def _key(record) -> dict:
    fields = asdict(record) | {"active": record.active, "expired": record.expired}
    return {"object": "api_key", **fields}


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


@router.patch("/users/{user_id}", responses=BODY)
def change_user(user_id: UserId, body: UserChange, request: Request) -> dict:
    services, who = _admin(request)
    record = services.identity.change_user(
        who, user_id, role=body.role, disabled=body.disabled, password=body.password
    )
    return _user(record)


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
    responses={201: {"description": "The key.", "links": KEY}} | BODY,
)
def create_key(user_id: UserId, body: NewKey, request: Request) -> dict:
    """A new key, shown once in `key`."""
    services, who = _admin(request)
    issued = services.identity.key_for(who, user_id, body.label, body.expires_days)
    return {"object": "api_key", "id": issued.record_id, "prefix": issued.prefix, "key": issued.key}


@router.post(
    "/keys/{key_id}/rotate",
    status_code=201,
    responses={201: {"description": "The new key.", "links": KEY}},
)
def rotate_key(key_id: KeyId, request: Request) -> dict:
    services, who = _admin(request)
    issued = services.identity.rotate_key(who, key_id)
    return {"object": "api_key", "id": issued.record_id, "prefix": issued.prefix, "key": issued.key}


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
