"""POST /v1/search over the caller's collections, and OpenAI-compatible /v1/embeddings."""

from __future__ import annotations

import base64
from dataclasses import asdict
from typing import Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from greffier.errors import Unsupported
from greffier.services.audit import resources_of

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
    ids = services.access.scope(who, body.collections, body.meetings)
    hits = services.search.search(body.query, ids, k=body.k, mode=body.mode)
    services.audit.record(who, "search", query=body.query, resources=resources_of(hits))
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
    services = request.app.state.services
    texts = [body.input] if isinstance(body.input, str) else body.input
    if not texts or any(not t for t in texts):
        raise Unsupported(
            "'input' must be a non-empty string or list of non-empty strings.", param="input"
        )
    if len(texts) > 2048:
        raise Unsupported("At most 2048 inputs per request.", param="input")
    embedder = services.registry.embedding_backend(body.model)
    counts = [embedder.count_tokens(t) for t in texts]
    too_long = next((i for i, n in enumerate(counts) if n > embedder.max_tokens), None)
    if too_long is not None:
        raise Unsupported(
            f"Input {too_long} has {counts[too_long]} tokens; model '{body.model}' takes at "
            f"most {embedder.max_tokens}.",
            param="input",
            code="context_length_exceeded",
        )
    vectors = embedder.embed(texts, body.input_type)
    data = [
        {
            "object": "embedding",
            "index": i,
            "embedding": base64.b64encode(v.astype("<f4").tobytes()).decode()
            if body.encoding_format == "base64"
            else v.tolist(),
        }
        for i, v in enumerate(vectors)
    ]
    total = sum(counts)
    return {
        "object": "list",
        "data": data,
        "model": body.model,
        "usage": {"prompt_tokens": total, "total_tokens": total},
    }
