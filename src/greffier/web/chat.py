"""The chat page, its conversation history, and the passage a citation points to.

Answers are not produced here: the page's script streams them from
``/v1/chat/completions`` (with the ``retrieval`` extension for the chosen collections and
meetings) and then stores the exchange through the small JSON routes below.
"""

from __future__ import annotations

import itertools
import re

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from greffier.api.routes.models import model_card
from greffier.errors import AuthenticationFailed, GreffierError, NotFound
from greffier.services.sessions import Session
from greffier.web.http import (
    PageRoute,
    SignedIn,
    api_principal,
    form_session,
    redirect,
    render,
)

router = APIRouter(route_class=PageRoute)
json_router = APIRouter(prefix="/ui")

_TURN = re.compile(r"^(?P<speaker>.*) — (?P<time>\d{2}:\d{2}:\d{2})$")


def chat_models(services) -> list[dict]:
    """The chat models of the catalogue (what /v1/models lists), usable ones first."""
    cards = [
        model_card(e, services.settings.models_dir)
        for e in services.registry.entries()
        if e.role.value == "chat"
    ]
    return sorted(cards, key=lambda c: not c["available"])


def sources_to_ground_on(services, who) -> tuple[list, list]:
    """Document collections and transcribed meetings this person may ground answers on."""
    collections = [
        {"id": c["id"], "name": c["name"], "documents": c["documents"]}
        for c in services.documents.collections(who)
    ]
    meetings = [
        {"id": m["id"], "title": m["title"]}
        for m in services.meetings.meetings(who)
        if m["status"] == "transcribed"
    ]
    return collections, meetings


def _chat_page(request: Request, session: Session, conversation_id: int | None) -> Response:
    services, web = request.app.state.services, request.app.state.web
    who = session.principal
    conversation, messages = None, []
    if conversation_id is not None:
        conversation = web.conversations.get(who, conversation_id)
        messages = web.conversations.messages(who, conversation_id)
    collections, meetings = sources_to_ground_on(services, who)
    chosen = conversation.sources if conversation else {"collections": [], "meetings": []}
    model = (conversation.model if conversation else "") or services.settings.default_model
    return render(
        request,
        "chat.html",
        "chat",
        "chat.title",
        conversations=web.conversations.list(who),
        conversation=conversation,
        messages=messages,
        models=chat_models(services),
        model=model,
        collections=collections,
        meetings=meetings,
        chosen=chosen,
        data={
            "conversation": conversation.id if conversation else None,
            "history": [{"role": m.role, "content": m.content} for m in messages],
        },
    )


@router.get("/chat")
def chat_page(request: Request, session: SignedIn) -> Response:
    return _chat_page(request, session, None)


@router.get("/chat/{conversation_id}")
def conversation_page(conversation_id: int, request: Request, session: SignedIn) -> Response:
    return _chat_page(request, session, conversation_id)


@router.post("/chat/{conversation_id}/delete")
def delete_conversation(conversation_id: int, request: Request, csrf: str = Form("")) -> Response:
    session = form_session(request, csrf)
    request.app.state.web.conversations.delete(session.principal, conversation_id)
    return redirect("/chat")


# --- JSON routes for the page's script (session cookie + CSRF header) ---------------------


def _who(request: Request):
    principal = api_principal(request)
    if principal is None:
        raise AuthenticationFailed("Sign in first.", code="session_expired")
    return principal


class Sources(BaseModel):
    collections: list[int] = []
    meetings: list[int] = []


class NewConversation(BaseModel):
    question: str = Field(min_length=1, max_length=20_000)
    model: str = ""
    sources: Sources = Sources()


class NewMessage(BaseModel):
    role: str
    content: str
    citations: list[dict] = []
    model: str = ""
    sources: Sources | None = None


@json_router.post("/conversations", status_code=201)
def start_conversation(body: NewConversation, request: Request) -> dict:
    who = _who(request)
    conversation = request.app.state.web.conversations.start(
        who, body.question, body.model, body.sources.model_dump()
    )
    return {"id": conversation.id, "title": conversation.title}


@json_router.post("/conversations/{conversation_id}/messages", status_code=201)
def add_message(conversation_id: int, body: NewMessage, request: Request) -> dict:
    who = _who(request)
    message_id = request.app.state.web.conversations.add(
        who,
        conversation_id,
        body.role,
        body.content,
        body.citations,
        body.model,
        body.sources.model_dump() if body.sources else None,
    )
    return {"id": message_id}


# --- the passage a citation points to -----------------------------------------------------


def passage_blocks(chunks: list[dict], start: int, end: int) -> list[dict]:
    """The text around a cited passage, rebuilt from the document's chunks: the cited
    chunk's page (or a few chunks either side), overlaps removed, the passage marked.

    Chunks record their offsets in the document's text and overlap a little, e.g.
    [0, 400) and [380, 600): the second is shown from 400 on. Returns blocks
    ``{"page", "heading", "parts": [(text, marked)]}``."""
    cited = next((i for i, c in enumerate(chunks) if c["char_start"] == start), None)
    if cited is None:
        cited = next(
            (i for i, c in enumerate(chunks) if c["char_start"] <= start < c["char_end"]), 0
        )
    page = chunks[cited]["page"] if chunks else None
    if page is not None:
        shown = [c for c in chunks if c["page"] == page]
    else:
        shown = chunks[max(0, cited - 3) : cited + 4]
    blocks: list[dict] = []
    covered = -1
    for c in shown:
        text, offset = c["text"], c["char_start"]
        joined = offset <= covered  # continues the text shown so far, with no gap
        if len(text) != c["char_end"] - offset:  # offsets unusable: mark the chunk whole
            parts = [(text, offset == start)]
        else:
            if offset < covered:
                text, offset = text[covered - offset :], covered
            parts = []
            cuts = sorted(
                {0, len(text), *(min(max(p - offset, 0), len(text)) for p in (start, end))}
            )
            for a, b in itertools.pairwise(cuts):
                if b > a:
                    parts.append((text[a:b], start <= offset + a and offset + b <= end))
        covered = max(covered, c["char_end"])
        if not parts or not "".join(p[0] for p in parts).strip():
            continue
        if blocks and blocks[-1]["heading"] == c["heading"] and blocks[-1]["page"] == c["page"]:
            blocks[-1]["parts"] += parts if joined else [(" ", False), *parts]
        else:
            blocks.append({"page": c["page"], "heading": c["heading"], "parts": parts})
    return blocks


def _audit(services, who, action: str, kind: str, resource_id: int, name: str) -> None:
    """Opening a passage is reading: logged as the API logs reading a document or meeting."""
    audit = getattr(services, "audit", None)
    if audit is not None:
        audit.record(who, action, resources=[{"type": kind, "id": resource_id, "name": name}])


def seconds(clock: str) -> int:
    h, m, s = (int(x) for x in clock.split(":"))
    return h * 3600 + m * 60 + s


@router.get("/passage")
def passage(
    request: Request,
    session: SignedIn,
    document: int,
    start: int = 0,
    end: int = 0,
    fragment: int = 0,
) -> Response:
    services, web = request.app.state.services, request.app.state.web
    who = session.principal
    chunks = web.store.document_chunks(document)
    cited = next((c for c in chunks if c["char_start"] == start), chunks[0] if chunks else None)
    meeting_id = web.store.meeting_of_document(document)
    template = "passage_fragment.html" if fragment else "passage.html"
    if meeting_id is not None:
        meeting = services.meetings.meeting(who, meeting_id)  # 404 unless readable
        _audit(services, who, "meeting", "meeting", meeting["id"], meeting["title"])
        turn = _TURN.match((cited or {}).get("heading", "").split(" > ")[-1])
        return render(
            request,
            template,
            "passage",
            "passage.title",
            kind="meeting",
            meeting=meeting,
            speaker=turn["speaker"] if turn else "",
            clock=turn["time"] if turn else "00:00:00",
            at=seconds(turn["time"]) if turn else 0,
            excerpt=(cited or {}).get("text", ""),
        )
    try:
        row = services.documents.document(who, document)  # 404 unless readable
    except GreffierError:
        raise NotFound(f"No document with id {document}.", param="document") from None
    _audit(services, who, "document.chunks", "document", row["id"], row["name"])
    return render(
        request,
        template,
        "passage",
        "passage.title",
        kind="document",
        document=row,
        blocks=passage_blocks(chunks, start, end),
        cited_page=(cited or {}).get("page"),
    )
