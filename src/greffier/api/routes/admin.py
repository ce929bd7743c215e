"""Admin-only routes: users, API keys, groups, quotas, audit log, erasure, usage totals."""

from __future__ import annotations

from dataclasses import asdict
from typing import Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

router = APIRouter(prefix="/v1/admin", tags=["admin"])


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

    name: str = Field(min_length=1, max_length=64)
    role: Literal["admin", "member"] = "member"
    password: str | None = Field(None, max_length=1024)


class UserChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Literal["admin", "member"] | None = None
    disabled: bool | None = None
    password: str | None = Field(None, max_length=1024)


class NewKey(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: str = Field("", max_length=200)
    expires_days: int | None = Field(None, ge=1, le=3660)


@router.get("/users")
def list_users(request: Request) -> dict:
    services, who = _admin(request)
    return {"object": "list", "data": [_user(u) for u in services.identity.users(who)]}


@router.post("/users", status_code=201)
def create_user(body: NewUser, request: Request) -> dict:
    services, who = _admin(request)
    return _user(services.identity.create_user(who, body.name, body.role, body.password))


@router.patch("/users/{user_id}")
def change_user(user_id: int, body: UserChange, request: Request) -> dict:
    services, who = _admin(request)
    record = services.identity.change_user(
        who, user_id, role=body.role, disabled=body.disabled, password=body.password
    )
    return _user(record)


@router.delete("/users/{user_id}")
def erase_user(user_id: int, request: Request) -> dict:
    """Right to erasure: the account and everything derived from what it owns."""
    services, who = _admin(request)
    report = services.erasure.erase(who, user_id)
    return {"object": "erasure", "complete": report.complete, **asdict(report)}


@router.get("/users/{user_id}/keys")
def list_user_keys(user_id: int, request: Request) -> dict:
    services, who = _admin(request)
    return {"object": "list", "data": [_key(k) for k in services.identity.list_keys(who, user_id)]}


@router.post("/users/{user_id}/keys", status_code=201)
def create_key(user_id: int, body: NewKey, request: Request) -> dict:
    """A new key, shown once in `key`."""
    services, who = _admin(request)
    issued = services.identity.key_for(who, user_id, body.label, body.expires_days)
    return {"object": "api_key", "id": issued.record_id, "prefix": issued.prefix, "key": issued.key}


@router.post("/keys/{key_id}/rotate", status_code=201)
def rotate_key(key_id: int, request: Request) -> dict:
    services, who = _admin(request)
    issued = services.identity.rotate_key(who, key_id)
    return {"object": "api_key", "id": issued.record_id, "prefix": issued.prefix, "key": issued.key}


@router.delete("/keys/{key_id}")
def revoke_key(key_id: int, request: Request) -> dict:
    services, who = _admin(request)
    services.identity.revoke_key(who, key_id)
    return {"object": "api_key", "id": key_id, "revoked": True}


class NewGroup(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=64)
    description: str = Field("", max_length=2000)


class Member(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user: str | None = Field(None, min_length=1, max_length=64)
    group: str | None = Field(None, min_length=1, max_length=64)


@router.get("/groups")
def list_groups(request: Request) -> dict:
    services, who = _admin(request)
    return {"object": "list", "data": [asdict(g) for g in services.access.groups(who)]}


@router.post("/groups", status_code=201)
def create_group(body: NewGroup, request: Request) -> dict:
    services, who = _admin(request)
    return asdict(services.access.create_group(who, body.name, body.description))


@router.delete("/groups/{group_id}")
def delete_group(group_id: int, request: Request) -> dict:
    services, who = _admin(request)
    services.access.delete_group(who, group_id)
    return {"object": "group", "id": group_id, "deleted": True}


@router.post("/groups/{group_id}/members")
def add_member(group_id: int, body: Member, request: Request) -> dict:
    services, who = _admin(request)
    return asdict(services.access.add_member(who, group_id, user=body.user, group=body.group))


@router.delete("/groups/{group_id}/members")
def remove_member(group_id: int, body: Member, request: Request) -> dict:
    services, who = _admin(request)
    return asdict(services.access.remove_member(who, group_id, user=body.user, group=body.group))


class Quota(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key_id: int | None = None
    group: str | None = None
    requests_per_minute: int | None = None
    tokens_per_day: int | None = None


@router.get("/quotas")
def list_quotas(request: Request) -> dict:
    services, who = _admin(request)
    return {"object": "list", "data": [asdict(q) for q in services.quotas.quotas(who)]}


@router.put("/quotas")
def set_quota(body: Quota, request: Request) -> dict:
    services, who = _admin(request)
    services.quotas.set(who, **body.model_dump())
    return {"object": "quota", **body.model_dump()}


@router.get("/audit")
def audit(
    request: Request,
    user: str | None = None,
    action: str | None = None,
    document: int | None = None,
    meeting: int | None = None,
    since: str | None = None,
    until: str | None = None,
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
