"""The feedback page: a curator's queue (admins and members of the curators group accept
or reject what people said of their answers, for data sets), or a person's own feedback.

Plain HTML forms posted with the session's CSRF token; the decisions go through the same
service as ``PATCH /v1/feedback/{id}`` (audited there).
"""

from __future__ import annotations

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from greffier.errors import GreffierError
from greffier.http.inputs import FeedbackId
from greffier.web.http import PageRoute, SignedIn, form_session, redirect, render

router = APIRouter(prefix="/feedback", route_class=PageRoute)

STATUSES = ("pending", "accepted", "rejected")


def _page(request: Request, status: str, error: str | None = None, code: int = 200) -> Response:
    services = request.app.state.services
    who = request.state.session.principal
    status = status if status in STATUSES else "pending"
    done = request.query_params.get("done", "")
    return render(
        request,
        "feedback.html",
        "feedback",
        "feedback.title",
        status_code=code,
        status=status,
        statuses=STATUSES,
        curator=services.feedback.is_curator(who),
        items=services.feedback.list(who, status),
        notice=f"feedback.done.{done}" if done in STATUSES else None,
        error=error,
    )


@router.get("")
def feedback_page(request: Request, session: SignedIn, status: str = "pending") -> Response:
    return _page(request, status)


@router.post("/{feedback_id}")
def curate(
    feedback_id: FeedbackId,
    request: Request,
    csrf: str = Form(""),
    status: str = Form(...),
    back: str = Form("pending"),
) -> Response:
    session = form_session(request, csrf)
    try:
        request.app.state.services.feedback.curate(session.principal, feedback_id, status)
    except GreffierError as exc:
        if exc.status >= 500:
            raise
        return _page(request, back, exc.full_message, exc.status)
    return redirect(f"/feedback?status={back if back in STATUSES else 'pending'}&done={status}")
