"""POST /v1/chat/completions and /v1/completions, streamed over SSE or not.

For a stream, the first event is awaited before the response starts: errors found
before generation (unknown model, prompt too long, busy model) still get a proper 4xx
status. An error after the first token can only be reported in the stream itself, as a
final ``data: {"error": ...}`` event. When the client disconnects, the response task is
cancelled, which closes the backend's stream and stops generation.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response, StreamingResponse

from greffier.api.errors import documented, sse_error
from greffier.api.schemas import ChatCompletionRequest, CompletionRequest
from greffier.errors import GreffierError
from greffier.models.backends.base import Event, Finished, TextDelta
from greffier.services.answering import Retrieval
from greffier.services.chat import Answer

router = APIRouter(prefix="/v1", tags=["chat"], responses=documented(403, 404, 413, 502, 503, 504))
# With "stream": true, the answer comes as server-sent events.
STREAMED = {200: {"content": {"text/event-stream": {"schema": {"type": "string"}}}}}

_SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def _usage(counts: Finished | Answer) -> dict:
    return {
        "prompt_tokens": counts.prompt_tokens,
        "completion_tokens": counts.completion_tokens,
        "total_tokens": counts.prompt_tokens + counts.completion_tokens,
        **counts.extra,  # documented extensions: energy_joules, language, english_equivalent…
    }


def _sse(payload: dict) -> str:
    return f"data: {json.dumps(payload, ensure_ascii=False)}\n\n"


async def _stream(
    events: AsyncIterator[Event], first: Event, chunk, include_usage: bool
) -> AsyncIterator[str]:
    """Render events as SSE with ``chunk(delta_text, finish_reason)`` building each payload."""
    try:
        event = first
        while True:
            if isinstance(event, TextDelta):
                yield _sse(chunk(event.text, None))
            else:
                yield _sse(chunk(None, event.reason))
                if include_usage:
                    yield _sse({**chunk(None, None), "choices": [], "usage": _usage(event)})
                break
            event = await anext(events)
        yield "data: [DONE]\n\n"
    except GreffierError as exc:
        yield sse_error(exc)
    finally:
        await events.aclose()


async def _unless_disconnected(request: Request, work: Awaitable[Answer]) -> Answer | None:
    """Await ``work``; cancel it and return None if the client goes away first."""
    task = asyncio.ensure_future(work)
    while True:
        done, _ = await asyncio.wait({task}, timeout=0.25)
        if done:
            return task.result()
        if await request.is_disconnected():
            task.cancel()
            return None


async def _respond(
    request: Request,
    stream: bool,
    include_usage: bool,
    answer: Callable[[], Awaitable[Answer]],
    events: Callable[[], AsyncIterator[Event]],
    whole: Callable[[Answer], dict],
    chunk: Callable[[str | None, str | None], dict],
):
    """Answer as one JSON object built by ``whole``, or as SSE events built by ``chunk``."""
    if not stream:
        result = await _unless_disconnected(request, answer())
        if result is None:  # nobody is listening; 499 is the log's "client closed request"
            return Response(status_code=499)
        return JSONResponse(whole(result))
    events = events()
    try:
        first = await anext(events)
    except BaseException:
        await events.aclose()
        raise
    return StreamingResponse(
        _stream(events, first, chunk, include_usage),
        media_type="text/event-stream",
        headers=_SSE_HEADERS,
    )


@router.post("/chat/completions", responses=STREAMED)
async def chat_completions(body: ChatCompletionRequest, request: Request):
    answering, who = request.app.state.services.answering, request.state.principal
    retrieval = (
        Retrieval(
            body.retrieval.collections,
            body.retrieval.meetings,
            body.retrieval.k,
            body.retrieval.mode,
        )
        if body.retrieval is not None
        else None
    )
    prepared = await run_in_threadpool(
        answering.prepare, who, body.model, body.to_generation(), retrieval
    )
    citations = prepared.citations
    meta = {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "created": int(time.time()),
        "model": prepared.model,  # an alias: the model that answers
        "system_fingerprint": None,
    }

    def whole(answer: Answer) -> dict:
        message = {"role": "assistant", "content": answer.text}
        return {
            **meta,
            "object": "chat.completion",
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "logprobs": None,
                    "finish_reason": answer.finish_reason,
                }
            ],
            "usage": _usage(answer),
            **({"citations": citations} if citations is not None else {}),
        }

    sent_role = False

    def chunk(text: str | None, finish_reason: str | None) -> dict:
        nonlocal sent_role
        delta: dict = {} if text is None else {"content": text}
        first = not sent_role and text is not None
        if first:
            delta["role"] = "assistant"
            sent_role = True
        return {
            **meta,
            "object": "chat.completion.chunk",
            "choices": [
                {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
            ],
            # The sources travel with the first piece of the answer.
            **({"citations": citations} if first and citations is not None else {}),
        }

    return await _respond(
        request,
        body.stream,
        body.include_usage,
        lambda: answering.answer(who, prepared),
        lambda: answering.stream(who, prepared),
        whole,
        chunk,
    )


@router.post("/completions", responses=STREAMED)
async def completions(body: CompletionRequest, request: Request):
    meta = {
        "id": f"cmpl-{uuid.uuid4().hex}",
        "created": int(time.time()),
        "model": body.model,
        "object": "text_completion",
    }

    def whole(answer: Answer) -> dict:
        choice = {
            "index": 0,
            "text": answer.text,
            "logprobs": None,
            "finish_reason": answer.finish_reason,
        }
        return {**meta, "choices": [choice], "usage": _usage(answer)}

    def chunk(text: str | None, finish_reason: str | None) -> dict:
        choice = {"index": 0, "text": text or "", "logprobs": None, "finish_reason": finish_reason}
        return {**meta, "choices": [choice]}

    chat, who = request.app.state.services.chat, request.state.principal
    generation = body.to_generation()
    return await _respond(
        request,
        body.stream,
        body.include_usage,
        lambda: chat.answer(body.model, generation, who),
        lambda: chat.generate(body.model, generation, who),
        whole,
        chunk,
    )
