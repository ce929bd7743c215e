"""Admin-only routes: usage totals per day and model."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request

from greffier.errors import PermissionDenied

router = APIRouter(prefix="/v1/admin", tags=["admin"])


@router.get("/usage")
def usage(request: Request, days: int = Query(30, ge=1, le=3660)) -> dict:
    if not request.state.principal.is_admin:
        raise PermissionDenied("Usage totals are for admins.")
    rows = request.app.state.services.usage.totals(days)
    return {"object": "list", "days": days, "data": rows}
