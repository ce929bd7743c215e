"""Documents, meetings and models pages.

The documents and meetings pages are rendered here and then driven by their scripts
through the public API (``/v1/collections``, ``/v1/meetings``, ``/v1/jobs``,
``/v1/search``), with the session cookie: what a person can do in the browser is exactly
what their key could do.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from greffier.http.inputs import MeetingId
from greffier.models.cards import model_card
from greffier.web.chat import chat_models
from greffier.web.http import PageRoute, SignedIn, render

router = APIRouter(route_class=PageRoute)

EXPORTS = ("txt", "srt", "vtt", "docx", "odt")


@router.get("/documents")
def documents_page(request: Request, session: SignedIn) -> Response:
    return render(request, "documents.html", "documents", "documents.title")


@router.get("/meetings")
def meetings_page(request: Request, session: SignedIn) -> Response:
    return render(request, "meetings.html", "meetings", "meetings.title")


@router.get("/meetings/{meeting_id}")
def meeting_page(meeting_id: MeetingId, request: Request, session: SignedIn) -> Response:
    services = request.app.state.services
    meeting = services.meetings.meeting(session.principal, meeting_id)  # 404 unless readable
    return render(
        request,
        "meeting.html",
        "meetings",
        "",
        title=meeting.title,
        meeting=meeting,
        exports=EXPORTS,
        models=chat_models(services),
        model=services.settings.default_model,
    )


@router.get("/models")
def models_page(request: Request, session: SignedIn) -> Response:
    services = request.app.state.services
    cards = [model_card(e, services.settings.models_dir) for e in services.registry.entries()]
    roles = ("chat", "embedding", "speech", "voice", "speaker")
    # By role; within one, what runs here before what is reached over the network.
    cards.sort(
        key=lambda c: (
            roles.index(c["role"]) if c["role"] in roles else len(roles),
            c["backend"] != "llamacpp",
            not c["available"],
            c["id"],
        )
    )
    return render(request, "models.html", "models", "models.title", models=cards)
