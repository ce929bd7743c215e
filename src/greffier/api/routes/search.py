"""POST /v1/search over the caller's collections, and OpenAI-compatible /v1/embeddings."""

from __future__ import annotations

import base64
from dataclasses import asdict
from typing import Annotated, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from greffier.api.errors import documented
from greffier.http.inputs import CollectionId, MeetingId
from greffier.services.embeddings import MAX_INPUTS

router = APIRouter(prefix="/v1", tags=["search"], responses=documented(404, 413))


class SearchRequest(BaseModel):
    query: str = Field(min_length=1, max_length=4000)
    # Nothing named: every collection and meeting the caller may read.
    collections: list[CollectionId] | None = None
    meetings: list[MeetingId] | Literal["all"] | None = None
    k: int = Field(5, ge=1, le=100)
    mode: Literal["lexical", "semantic", "hybrid"] = "hybrid"


@router.post("/search", responses=documented(403))
def search(body: SearchRequest, request: Request) -> dict:
    services, who = request.app.state.services, request.state.principal
    hits = services.search.find(
        who, body.query, body.collections, body.meetings, k=body.k, mode=body.mode
    )
    return {"object": "list", "mode": body.mode, "data": [asdict(h) for h in hits]}


Text = Annotated[str, Field(min_length=1)]
TokenIds = Annotated[list[int], Field(min_length=1)]


class EmbeddingRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    model: str = Field(min_length=1)
    # Text, texts, or token ids (one list, or a list of lists) of OpenAI's cl100k tokenizer.
    input: (
        Text
        | Annotated[list[Text], Field(min_length=1, max_length=MAX_INPUTS)]
        | TokenIds
        | Annotated[list[TokenIds], Field(min_length=1, max_length=MAX_INPUTS)]
    )
    encoding_format: Literal["float", "base64"] = "float"
    dimensions: int | None = Field(None, ge=1)
    # Extension: e5-like models embed queries and passages differently ("query: "/"passage: ").
    input_type: Literal["query", "passage"] = "query"


@router.post("/embeddings", responses=documented(502, 503, 504))
def embeddings(body: EmbeddingRequest, request: Request) -> dict:
    inputs = body.input
    if isinstance(inputs, str) or (inputs and isinstance(inputs[0], int)):
        inputs = [inputs]
    embedded = request.app.state.services.embeddings.embed(
        body.model, inputs, body.input_type, body.dimensions
    )
    data = [
        {
            "object": "embedding",
            "index": i,
            "embedding": base64.b64encode(v.astype("<f4").tobytes()).decode()
            if body.encoding_format == "base64"
            else v.tolist(),
        }
        for i, v in enumerate(embedded.vectors)
    ]
    total = sum(embedded.tokens)
    return {
        "object": "list",
        "data": data,
        "model": body.model,
        "usage": {"prompt_tokens": total, "total_tokens": total},
    }
