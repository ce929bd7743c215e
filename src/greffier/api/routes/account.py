"""The caller's own account: who they are, and what was done to their credentials."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, Request

router = APIRouter(prefix="/v1/account", tags=["account"])


@router.get("")
def account(request: Request) -> dict:
    """Your user, and the notices about your credentials (who made a key for you or set
    your password, and which admin approved it), newest first."""
    services, who = request.app.state.services, request.state.principal
    found = services.identity.account(who)
    return {
        "object": "account",
        "user": asdict(found.user),
        "notices": [asdict(n) for n in found.notices],
    }


@router.post("/notices/seen")
def notices_seen(request: Request) -> dict:
    """Mark your notices as read (they stay listed)."""
    services, who = request.app.state.services, request.state.principal
    services.identity.acknowledge(who)
    return {"object": "account.notices", "seen": True}
