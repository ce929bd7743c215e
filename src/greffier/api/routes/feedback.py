"""Feedback on answers: a rating of one's own answer by the id the API returned (chat
completions and stored Responses), and its curation by admins and curators.

POST /v1/chat/completions/{id}/feedback (and /v1/responses/{id}/feedback) rate an answer,
GET of the same path reads one's rating back; GET /v1/feedback lists (a curator's queue,
or one's own), PATCH /v1/feedback/{id} accepts or rejects an item (curators).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from greffier.api.errors import documented
from greffier.http.inputs import FeedbackId
from greffier.services.feedback import MAX_CORRECTION_CHARS, MAX_REASON_CHARS, FeedbackView

router = APIRouter(prefix="/v1", tags=["feedback"], responses=documented(404))
BODY = documented(413)


class FeedbackIn(BaseModel):
    rating: Literal["up", "down"]
    # The answer as it should have been: what a data set learns from a "down".
    correction: str | None = Field(None, max_length=MAX_CORRECTION_CHARS)
    reason: str | None = Field(None, max_length=MAX_REASON_CHARS)


class Curation(BaseModel):
    status: Literal["accepted", "rejected", "pending"]


def feedback_object(view: FeedbackView) -> dict:
    return {"object": "feedback", **asdict(view.record), "hidden_citations": view.hidden_citations}


def _give(request: Request, answer_id: str, body: FeedbackIn) -> dict:
    view = request.app.state.services.feedback.give(
        request.state.principal, answer_id, body.rating, body.correction, body.reason
    )
    return feedback_object(view)


def _mine(request: Request, answer_id: str) -> dict:
    view = request.app.state.services.feedback.mine(request.state.principal, answer_id)
    return feedback_object(view)


@router.post("/chat/completions/{completion_id}/feedback", responses=BODY)
def rate_completion(completion_id: str, body: FeedbackIn, request: Request) -> dict:
    return _give(request, completion_id, body)


@router.get("/chat/completions/{completion_id}/feedback")
def completion_feedback(completion_id: str, request: Request) -> dict:
    return _mine(request, completion_id)


@router.post("/responses/{response_id}/feedback", responses=BODY)
def rate_response(response_id: str, body: FeedbackIn, request: Request) -> dict:
    return _give(request, response_id, body)


@router.get("/responses/{response_id}/feedback")
def response_feedback(response_id: str, request: Request) -> dict:
    return _mine(request, response_id)


@router.get("/feedback")
def list_feedback(
    request: Request,
    status: Literal["pending", "accepted", "rejected"] | None = Query(None),
) -> dict:
    views = request.app.state.services.feedback.list(request.state.principal, status)
    return {"object": "list", "data": [feedback_object(v) for v in views]}


@router.patch("/feedback/{feedback_id}", responses={**BODY, **documented(403)})
def curate_feedback(feedback_id: FeedbackId, body: Curation, request: Request) -> dict:
    view = request.app.state.services.feedback.curate(
        request.state.principal, feedback_id, body.status
    )
    return feedback_object(view)
