"""The chat page, its conversation history, and the passage a citation points to.

Answers are not produced here: the page's script streams them from
``/v1/chat/completions`` (with the ``retrieval`` extension for the chosen collections and
meetings) and then stores the exchange through the small JSON routes below.
"""

from __future__ import annotations

import itertools

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from greffier.errors import AuthenticationFailed
from greffier.http.inputs import ConversationId, DocumentId
from greffier.http.session import cookie_principal
from greffier.models.cards import model_card
from greffier.services.sessions import Session
from greffier.store.records import MAX_ID, Chunk
from greffier.web.http import PageRoute, SignedIn, form_session, redirect, render

router = APIRouter(route_class=PageRoute)
json_router = APIRouter(prefix="/ui")


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
        {"id": c.id, "name": c.name, "documents": c.documents}
        for c in services.documents.collections(who)
    ]
    meetings = [
        {"id": m.id, "title": m.title}
        for m in services.meetings.meetings(who)
        if m.status == "transcribed"
    ]
    return collections, meetings


def _chat_page(request: Request, session: Session, conversation_id: int | None) -> Response:
    services = request.app.state.services
    who = session.principal
    conversation, messages = None, []
    if conversation_id is not None:
        conversation = services.conversations.get(who, conversation_id)
        messages = services.conversations.messages(who, conversation_id)
    collections, meetings = sources_to_ground_on(services, who)
    chosen = conversation.sources if conversation else {"collections": [], "meetings": []}
    model = (conversation.model if conversation else "") or services.settings.default_model
    return render(
        request,
        "chat.html",
        "chat",
        "chat.title",
        conversations=services.conversations.list(who),
        conversation=conversation,
        messages=messages,
        ratings=services.feedback.ratings(who, [m.answer_id for m in messages if m.answer_id]),
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
def conversation_page(
    conversation_id: ConversationId, request: Request, session: SignedIn
) -> Response:
    return _chat_page(request, session, conversation_id)


@router.post("/chat/{conversation_id}/delete")
def delete_conversation(
    conversation_id: ConversationId, request: Request, csrf: str = Form("")
) -> Response:
    session = form_session(request, csrf)
    request.app.state.services.conversations.delete(session.principal, conversation_id)
    return redirect("/chat")


# --- JSON routes for the page's script (session cookie + CSRF header) ---------------------


def _who(request: Request):
    principal = cookie_principal(request)
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
    answer_id: str | None = Field(None, max_length=100)


@json_router.post("/conversations", status_code=201)
def start_conversation(body: NewConversation, request: Request) -> dict:
    who = _who(request)
    conversation = request.app.state.services.conversations.start(
        who, body.question, body.model, body.sources.model_dump()
    )
    return {"id": conversation.id, "title": conversation.title}


@json_router.post("/conversations/{conversation_id}/messages", status_code=201)
def add_message(conversation_id: ConversationId, body: NewMessage, request: Request) -> dict:
    who = _who(request)
    message_id = request.app.state.services.conversations.add(
        who,
        conversation_id,
        body.role,
        body.content,
        body.citations,
        body.model,
        body.sources.model_dump() if body.sources else None,
        body.answer_id,
    )
    return {"id": message_id}


# --- the passage a citation points to -----------------------------------------------------


def passage_blocks(chunks: list[Chunk], start: int, end: int) -> list[dict]:
    """The text around a cited passage, rebuilt from the document's chunks: the cited
    chunk's page (or a few chunks either side), overlaps removed, the passage marked.

    Chunks record their offsets in the document's text and overlap a little, e.g.
    [0, 400) and [380, 600): the second is shown from 400 on. Returns blocks
    ``{"page", "heading", "parts": [(text, marked)]}``."""
    cited = next((i for i, c in enumerate(chunks) if c.char_start == start), None)
    if cited is None:
        cited = next((i for i, c in enumerate(chunks) if c.char_start <= start < c.char_end), 0)
    page = chunks[cited].page if chunks else None
    if page is not None:
        shown = [c for c in chunks if c.page == page]
    else:
        shown = chunks[max(0, cited - 3) : cited + 4]
    blocks: list[dict] = []
    covered = -1
    for c in shown:
        text, offset = c.text, c.char_start
        joined = offset <= covered  # continues the text shown so far, with no gap
        if len(text) != c.char_end - offset:  # offsets unusable: mark the chunk whole
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
        covered = max(covered, c.char_end)
        if not parts or not "".join(p[0] for p in parts).strip():
            continue
        if blocks and blocks[-1]["heading"] == c.heading and blocks[-1]["page"] == c.page:
            blocks[-1]["parts"] += parts if joined else [(" ", False), *parts]
        else:
            blocks.append({"page": c.page, "heading": c.heading, "parts": parts})
    return blocks


@router.get("/passage")
def passage(
    request: Request,
    session: SignedIn,
    document: DocumentId,
    start: int = Query(0, ge=0, le=MAX_ID),
    end: int = 0,
    fragment: int = 0,
) -> Response:
    found = request.app.state.services.passages.cited(session.principal, document, start)
    template = "passage_fragment.html" if fragment else "passage.html"
    if found.meeting is not None:
        return render(
            request,
            template,
            "passage",
            "passage.title",
            kind="meeting",
            meeting=found.meeting,
            speaker=found.turn.speaker if found.turn else "",
            clock=found.turn.clock if found.turn else "00:00:00",
            at=found.turn.seconds if found.turn else 0,
            excerpt=found.cited.text if found.cited else "",
        )
    return render(
        request,
        template,
        "passage",
        "passage.title",
        kind="document",
        document=found.document,
        blocks=passage_blocks(found.chunks, start, end),
        cited_page=found.cited.page if found.cited else None,
    )
