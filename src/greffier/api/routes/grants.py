"""Grants on a collection or a meeting: list, give or change, revoke (needs 'manage');
and, for the people they reach, accepting a share into their default search scope.

One route per resource (not one ``/{resource}/{id}``) so that each id is typed as that
resource's id: a collection id the database cannot hold gets the 404 of a missing collection.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Literal

from fastapi import APIRouter, Request

from greffier.api.bodies import Subject
from greffier.api.errors import documented
from greffier.http.inputs import CollectionId, MeetingId
from greffier.services.access import PERMISSIONS

router = APIRouter(prefix="/v1", tags=["access"], responses=documented(403, 404))
BODY = documented(413)  # operations that take a body


class NewGrant(Subject):
    permission: Literal[PERMISSIONS]


def _grant(grant) -> dict:
    return {"object": "grant", **asdict(grant)}


def _list(request: Request, resource: str, resource_id: int) -> dict:
    services, who = request.app.state.services, request.state.principal
    grants = services.access.grants(who, resource, resource_id)
    return {"object": "list", "data": [_grant(g) for g in grants]}


def _add(request: Request, resource: str, resource_id: int, body: NewGrant) -> dict:
    services, who = request.app.state.services, request.state.principal
    grant = services.access.grant(
        who, resource, resource_id, permission=body.permission, user=body.user, group=body.group
    )
    return _grant(grant)


def _remove(request: Request, resource: str, resource_id: int, body: Subject) -> dict:
    services, who = request.app.state.services, request.state.principal
    services.access.revoke(who, resource, resource_id, user=body.user, group=body.group)
    return {"object": "grant.deleted", "deleted": True}


@router.get("/collections/{collection_id}/grants")
def list_collection_grants(collection_id: CollectionId, request: Request) -> dict:
    return _list(request, "collection", collection_id)


@router.post("/collections/{collection_id}/grants", status_code=201, responses=BODY)
def add_collection_grant(collection_id: CollectionId, body: NewGrant, request: Request) -> dict:
    return _add(request, "collection", collection_id, body)


@router.delete("/collections/{collection_id}/grants", responses=BODY)
def remove_collection_grant(collection_id: CollectionId, body: Subject, request: Request) -> dict:
    return _remove(request, "collection", collection_id, body)


@router.get("/meetings/{meeting_id}/grants")
def list_meeting_grants(meeting_id: MeetingId, request: Request) -> dict:
    return _list(request, "meeting", meeting_id)


@router.post("/meetings/{meeting_id}/grants", status_code=201, responses=BODY)
def add_meeting_grant(meeting_id: MeetingId, body: NewGrant, request: Request) -> dict:
    return _add(request, "meeting", meeting_id, body)


@router.delete("/meetings/{meeting_id}/grants", responses=BODY)
def remove_meeting_grant(meeting_id: MeetingId, body: Subject, request: Request) -> dict:
    return _remove(request, "meeting", meeting_id, body)


@router.post("/collections/{collection_id}/accept")
def accept_collection(collection_id: CollectionId, request: Request) -> dict:
    """Let a collection shared with you into your default search scope (search and chat that
    name no collection); without this, you reach it only by naming it."""
    return _accept(request, "collection", collection_id, True)


@router.delete("/collections/{collection_id}/accept")
def unaccept_collection(collection_id: CollectionId, request: Request) -> dict:
    return _accept(request, "collection", collection_id, False)


@router.post("/meetings/{meeting_id}/accept")
def accept_meeting(meeting_id: MeetingId, request: Request) -> dict:
    """Let a meeting shared with you into your default search scope."""
    return _accept(request, "meeting", meeting_id, True)


@router.delete("/meetings/{meeting_id}/accept")
def unaccept_meeting(meeting_id: MeetingId, request: Request) -> dict:
    return _accept(request, "meeting", meeting_id, False)


def _accept(request: Request, resource: str, resource_id: int, accepted: bool) -> dict:
    services, who = request.app.state.services, request.state.principal
    if accepted:
        services.access.accept(who, resource, resource_id)
    else:
        services.access.unaccept(who, resource, resource_id)
    return {"object": "share", "type": resource, "id": resource_id, "accepted": accepted}
