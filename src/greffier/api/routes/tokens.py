"""POST /v1/tokenize and /v1/detokenize: a model's own vocabulary, as vLLM exposes it."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, model_validator

from greffier.api.schemas import ChatMessage
from greffier.models.backends.base import Message

router = APIRouter(prefix="/v1", tags=["tokens"])


class TokenizeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: str = Field(min_length=1)
    prompt: str | None = None
    messages: list[ChatMessage] | None = Field(None, min_length=1)
    # Read special tokens written in the text (e.g. "<|im_end|>") as such; with messages
    # the rendered chat template always is.
    add_special_tokens: bool = False
    return_pieces: bool = False

    @model_validator(mode="after")
    def _one_input(self):
        if (self.prompt is None) == (self.messages is None):
            raise ValueError("send either 'prompt' or 'messages'")
        return self


class DetokenizeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: str = Field(min_length=1)
    tokens: list[int] = Field(max_length=1_000_000)


@router.post("/tokenize")
def tokenize(body: TokenizeRequest, request: Request) -> dict:
    backend = request.app.state.services.chat.backend_for(body.model)
    if body.messages is not None:
        messages = tuple(Message(m.role, m.text(i)) for i, m in enumerate(body.messages))
        tokens = backend.tokenize(backend.render_chat(messages), special=True)
    else:
        tokens = backend.tokenize(body.prompt, special=body.add_special_tokens)
    reply = {
        "model": body.model,
        "count": len(tokens),
        "max_model_len": backend.context_window,
        "tokens": tokens,
    }
    if body.return_pieces:
        reply["pieces"] = [backend.detokenize([t]) for t in tokens]
    return reply


@router.post("/detokenize")
def detokenize(body: DetokenizeRequest, request: Request) -> dict:
    backend = request.app.state.services.chat.backend_for(body.model)
    return {"model": body.model, "prompt": backend.detokenize(body.tokens)}
