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
from greffier.models.backends.base import (
    Event,
    Finished,
    TextDelta,
    TokenLogprob,
    ToolCall,
    ToolCallDelta,
)
from greffier.services.answering import Retrieval
from greffier.services.chat import Answer

router = APIRouter(prefix="/v1", tags=["chat"], responses=documented(403, 404, 413, 502, 503, 504))
# With "stream": true, the answer comes as server-sent events.
# Each server-sent event, as SSE validators read them: its JSON payload in `data`.
SSE_EVENT = {
    "type": "object",
    "properties": {
        "event": {"type": "string"},
        "data": {"type": "string"},
        "id": {"type": "string"},
        "retry": {"type": "integer"},
    },
    "required": ["data"],
}
STREAMED = {200: {"content": {"text/event-stream": {"schema": SSE_EVENT}}}}

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


def token_logprobs(logprobs: tuple[TokenLogprob, ...]) -> list[dict]:
    """Chat log-probabilities, as OpenAI's ``choices[].logprobs.content``."""
    return [
        {
            "token": t.token,
            "logprob": t.logprob,
            "bytes": list(t.bytes),
            "top_logprobs": [
                {"token": a.token, "logprob": a.logprob, "bytes": list(a.bytes)} for a in t.top
            ],
        }
        for t in logprobs
    ]


def _legacy_logprobs(logprobs: tuple[TokenLogprob, ...], offset: int) -> dict:
    """Legacy completions' log-probabilities: parallel lists, text offsets from ``offset``."""
    offsets = []
    for t in logprobs:
        offsets.append(offset)
        offset += len(t.token)
    return {
        "tokens": [t.token for t in logprobs],
        "token_logprobs": [t.logprob for t in logprobs],
        "top_logprobs": [{a.token: a.logprob for a in t.top} for t in logprobs],
        "text_offset": offsets,
    }


def tool_calls(calls: tuple[ToolCall, ...]) -> list[dict]:
    return [
        {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
        for c in calls
    ]


async def _stream(
    events: AsyncIterator[Event],
    first: Event,
    chunk: Callable[[Event], dict],
    usage: Callable[[Finished], dict] | None,
) -> AsyncIterator[str]:
    """Render events as SSE: ``chunk(event)`` builds each payload, ``usage`` the last."""
    try:
        event = first
        while True:
            yield _sse(chunk(event))
            if isinstance(event, Finished):
                if usage is not None:
                    yield _sse(usage(event))
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
    answer: Callable[[], Awaitable[Answer]],
    events: Callable[[], AsyncIterator[Event]],
    whole: Callable[[Answer], dict],
    chunk: Callable[[Event], dict],
    usage: Callable[[Finished], dict] | None,
):
    """Answer as one JSON object built by ``whole``, or as SSE events built by ``chunk``
    (and ``usage``, when the client asked for a usage chunk)."""
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
        _stream(events, first, chunk, usage),
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
        answering.prepare, who, body.model, body.to_generation(), retrieval, keep=body.store
    )
    citations = prepared.citations
    meta = {
        # A kept answer's id is the one its feedback names.
        "id": prepared.kept_as or f"chatcmpl-{uuid.uuid4().hex}",
        "created": int(time.time()),
        "model": prepared.model,  # an alias: the model that answers
        "system_fingerprint": None,
    }

    def whole(answer: Answer) -> dict:
        message: dict = {"role": "assistant", "content": answer.text, "refusal": None}
        if answer.tool_calls:
            message["content"] = answer.text or None
            message["tool_calls"] = tool_calls(answer.tool_calls)
        logprobs = (
            {"content": token_logprobs(answer.logprobs), "refusal": None}
            if answer.logprobs is not None
            else None
        )
        return {
            **meta,
            "object": "chat.completion",
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "logprobs": logprobs,
                    "finish_reason": answer.finish_reason,
                }
            ],
            "usage": _usage(answer),
            **({"citations": citations} if citations is not None else {}),
            # Extension: each sentence with the passage supporting it (after generation).
            **({"sentences": prepared.sentences} if citations is not None else {}),
        }

    sent_role = False

    def chunk(event: Event) -> dict:
        nonlocal sent_role
        delta: dict = {}
        logprobs = None
        if isinstance(event, TextDelta):
            delta["content"] = event.text
            if event.logprobs:
                logprobs = {"content": token_logprobs(event.logprobs), "refusal": None}
        elif isinstance(event, ToolCallDelta):
            call: dict = {"index": event.index, "function": {"arguments": event.arguments}}
            if event.id is not None:
                call["id"], call["type"] = event.id, "function"
            if event.name is not None:
                call["function"]["name"] = event.name
            delta["tool_calls"] = [call]
        first = not sent_role and not isinstance(event, Finished)
        if first:
            delta["role"] = "assistant"
            sent_role = True
        reason = event.reason if isinstance(event, Finished) else None
        return {
            **meta,
            "object": "chat.completion.chunk",
            "choices": [
                {"index": 0, "delta": delta, "logprobs": logprobs, "finish_reason": reason}
            ],
            # The sources travel with the first piece of the answer, the sentences each one
            # supports with the last.
            **({"citations": citations} if first and citations is not None else {}),
            **({"sentences": prepared.sentences} if reason and citations is not None else {}),
        }

    def usage(finished: Finished) -> dict:
        return {**meta, "object": "chat.completion.chunk", "choices": [], "usage": _usage(finished)}

    return await _respond(
        request,
        body.stream,
        lambda: answering.answer(who, prepared),
        lambda: answering.stream(who, prepared),
        whole,
        chunk,
        usage if body.include_usage else None,
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
            "logprobs": _legacy_logprobs(answer.logprobs, 0)
            if answer.logprobs is not None
            else None,
            "finish_reason": answer.finish_reason,
        }
        return {**meta, "choices": [choice], "usage": _usage(answer)}

    offset = 0

    def chunk(event: Event) -> dict:
        nonlocal offset
        text = event.text if isinstance(event, TextDelta) else ""
        logprobs = None
        if isinstance(event, TextDelta) and generation.logprobs:
            logprobs = _legacy_logprobs(event.logprobs, offset)
        offset += len(text)
        reason = event.reason if isinstance(event, Finished) else None
        choice = {"index": 0, "text": text, "logprobs": logprobs, "finish_reason": reason}
        return {**meta, "choices": [choice]}

    def usage(finished: Finished) -> dict:
        return {**meta, "choices": [], "usage": _usage(finished)}

    chat, who = request.app.state.services.chat, request.state.principal
    generation = body.to_generation()
    return await _respond(
        request,
        body.stream,
        lambda: chat.answer(body.model, generation, who),
        lambda: chat.generate(body.model, generation, who),
        whole,
        chunk,
        usage if body.include_usage else None,
    )
