"""Grants on a collection or a meeting: list, give or change, revoke (needs 'manage')."""

from __future__ import annotations

from dataclasses import asdict
from typing import Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

router = APIRouter(prefix="/v1", tags=["access"])

Resource = Literal["collections", "meetings"]


class NewGrant(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user: str | None = Field(None, min_length=1, max_length=64)
    group: str | None = Field(None, min_length=1, max_length=64)
    permission: Literal["read", "write", "manage", "deny"]


class Subject(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user: str | None = Field(None, min_length=1, max_length=64)
    group: str | None = Field(None, min_length=1, max_length=64)


def _grant(grant) -> dict:
    return {"object": "grant", **asdict(grant)}


@router.get("/{resource}/{resource_id}/grants")
def list_grants(resource: Resource, resource_id: int, request: Request) -> dict:
    services, who = request.app.state.services, request.state.principal
    grants = services.access.grants(who, resource[:-1], resource_id)
    return {"object": "list", "data": [_grant(g) for g in grants]}


@router.post("/{resource}/{resource_id}/grants", status_code=201)
def add_grant(resource: Resource, resource_id: int, body: NewGrant, request: Request) -> dict:
    services, who = request.app.state.services, request.state.principal
    grant = services.access.grant(
        who,
        resource[:-1],
        resource_id,
        permission=body.permission,
        user=body.user,
        group=body.group,
    )
    return _grant(grant)


@router.delete("/{resource}/{resource_id}/grants")
def remove_grant(resource: Resource, resource_id: int, body: Subject, request: Request) -> dict:
    services, who = request.app.state.services, request.state.principal
    services.access.revoke(who, resource[:-1], resource_id, user=body.user, group=body.group)
    return {"object": "grant.deleted", "deleted": True}
