"""POST /v1/search over the caller's collections, and OpenAI-compatible /v1/embeddings."""

from __future__ import annotations

import base64
from dataclasses import asdict
from typing import Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

router = APIRouter(prefix="/v1", tags=["search"])


class SearchRequest(BaseModel):
    query: str = Field(min_length=1, max_length=4000)
    # Nothing named: every collection and meeting the caller may read.
    collections: list[int] | None = None
    meetings: list[int] | Literal["all"] | None = None
    k: int = Field(5, ge=1, le=100)
    mode: Literal["lexical", "semantic", "hybrid"] = "hybrid"


@router.post("/search")
def search(body: SearchRequest, request: Request) -> dict:
    services, who = request.app.state.services, request.state.principal
    hits = services.search.find(
        who, body.query, body.collections, body.meetings, k=body.k, mode=body.mode
    )
    return {"object": "list", "mode": body.mode, "data": [asdict(h) for h in hits]}


class EmbeddingRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    model: str = Field(min_length=1)
    input: str | list[str]
    encoding_format: Literal["float", "base64"] = "float"
    # Extension: e5-like models embed queries and passages differently ("query: "/"passage: ").
    input_type: Literal["query", "passage"] = "query"


@router.post("/embeddings")
def embeddings(body: EmbeddingRequest, request: Request) -> dict:
    texts = [body.input] if isinstance(body.input, str) else body.input
    embedded = request.app.state.services.embeddings.embed(body.model, texts, body.input_type)
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
