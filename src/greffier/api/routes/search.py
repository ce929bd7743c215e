"""POST /v1/search over the caller's collections, and OpenAI-compatible /v1/embeddings."""

from __future__ import annotations

import base64
from dataclasses import asdict
from typing import Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from greffier.errors import NotFound, Unsupported

router = APIRouter(prefix="/v1", tags=["search"])


class SearchRequest(BaseModel):
    query: str = Field(min_length=1, max_length=4000)
    collections: list[int] | None = None  # default: every collection the caller may read
    k: int = Field(5, ge=1, le=100)
    mode: Literal["lexical", "semantic", "hybrid"] = "hybrid"


def readable(services, principal, wanted: list[int] | None) -> list[int]:
    """The collections to search: those asked for, all of them readable, or a 404 that
    does not say whether an unreadable id exists."""
    allowed = services.documents.readable_collection_ids(principal)
    if wanted is None:
        return allowed
    missing = sorted(set(wanted) - set(allowed))
    if missing:
        raise NotFound(f"No collection with id {missing[0]}.", param="collections")
    return list(dict.fromkeys(wanted))


@router.post("/search")
def search(body: SearchRequest, request: Request) -> dict:
    services, who = request.app.state.services, request.state.principal
    ids = readable(services, who, body.collections)
    hits = services.search.search(body.query, ids, k=body.k, mode=body.mode)
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
