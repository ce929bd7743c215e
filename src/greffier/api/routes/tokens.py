"""POST /v1/tokenize and /v1/detokenize: a model's own vocabulary, as vLLM exposes it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, model_validator

from greffier.api.bodies import exactly_one, require_one
from greffier.api.errors import documented
from greffier.api.schemas import ChatMessage

router = APIRouter(prefix="/v1", tags=["tokens"], responses=documented(404, 413, 503))


class TokenizeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra=exactly_one("prompt", "messages"))

    model: str = Field(min_length=1)
    prompt: str | None = None
    messages: list[ChatMessage] | None = Field(None, min_length=1)
    # Read special tokens written in the text (e.g. "<|im_end|>") as such; with messages
    # the rendered chat template always is.
    add_special_tokens: bool = False
    return_pieces: bool = False

    @model_validator(mode="after")
    def _one_input(self):
        require_one(self, "prompt", "messages")
        return self


class DetokenizeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: str = Field(min_length=1)
    tokens: list[Annotated[int, Field(ge=0)]] = Field(max_length=1_000_000)


@router.post("/tokenize")
def tokenize(body: TokenizeRequest, request: Request) -> dict:
    messages = (
        # As a chat request renders them, so the count is its prompt_tokens.
        tuple(m.to_message(i) for i, m in enumerate(body.messages))
        if body.messages is not None
        else None
    )
    done = request.app.state.services.chat.tokenize(
        body.model,
        prompt=body.prompt,
        messages=messages,
        special=body.add_special_tokens,
        pieces=body.return_pieces,
    )
    reply = {
        "model": body.model,
        "count": len(done.tokens),
        "max_model_len": done.context_window,
        "tokens": done.tokens,
    }
    if done.pieces is not None:
        reply["pieces"] = done.pieces
    return reply


@router.post("/detokenize")
def detokenize(body: DetokenizeRequest, request: Request) -> dict:
    text = request.app.state.services.chat.detokenize(body.model, body.tokens)
    return {"model": body.model, "prompt": text}
