"""The Responses API (``/v1/responses``) on the chat machinery.

A Responses request is a chat request in other words: ``instructions`` become the system
message, ``input`` items become messages (text, function calls and their outputs), and the
answer comes from the same services as ``/v1/chat/completions`` (model checks, sensitivity
routing, audit, quotas, tools, JSON formats). What it adds is memory: an answer is kept,
with the conversation that led to it, so a follow-up naming it in ``previous_response_id``
continues it. Kept answers belong to the person who asked: nobody else may read,
continue or delete them (an id of someone else's is "not found"), and they go with their
user on erasure. ``store: false`` keeps nothing.

As OpenAI does, instructions are not carried over to a follow-up: each request gives its own.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace

from greffier.errors import NotFound
from greffier.models.backends.base import (
    Event,
    Finished,
    Generation,
    Message,
    TextDelta,
    ToolCall,
    ToolCallDelta,
)
from greffier.services.answering import AnsweringService, Prepared
from greffier.services.principal import Principal
from greffier.store.interfaces import ResponseStore
from greffier.store.records import ResponseRecord, now_text


def message_record(m: Message) -> dict:
    return {
        "role": m.role,
        "content": m.content,
        "tool_calls": [
            {"id": c.id, "name": c.name, "arguments": c.arguments} for c in m.tool_calls
        ],
        "tool_call_id": m.tool_call_id,
    }


def message_of(record: dict) -> Message:
    return Message(
        record["role"],
        record["content"],
        tuple(ToolCall(c["id"], c["name"], c["arguments"]) for c in record["tool_calls"]),
        record["tool_call_id"],
    )


def call_item_id(call_id: str) -> str:
    """The id of a function_call output item, derived from its call's id."""
    return f"fc_{call_id.removeprefix('call_')}"


@dataclass(frozen=True)
class ResponseRequest:
    """What a Responses request asks, parsed by the route."""

    model: str
    input: tuple[Message, ...]
    generation: Generation  # sampling, tools, format; its messages are filled here
    instructions: str | None = None
    previous_id: str | None = None
    store: bool = True
    echo: dict | None = None  # parameters the response object repeats


@dataclass(frozen=True)
class PreparedResponse:
    id: str
    message_id: str  # the id of the output message item, known before it is written
    who: Principal
    request: ResponseRequest
    prepared: Prepared
    conversation: tuple[Message, ...]  # before this answer, instructions left out


class ResponsesService:
    def __init__(self, answering: AnsweringService, store: ResponseStore):
        self.answering = answering
        self.store = store

    def get(self, who: Principal, response_id: str, param: str = "response_id") -> ResponseRecord:
        found = self.store.get(response_id)
        if found is None or found.user_id != who.user_id:
            raise NotFound(f"No response with id '{response_id}'.", param=param)
        return found

    def delete(self, who: Principal, response_id: str) -> None:
        self.get(who, response_id)
        self.store.delete(response_id)

    def prepare(self, who: Principal, request: ResponseRequest) -> PreparedResponse:
        """Check, build the conversation and audit (blocking)."""
        history: tuple[Message, ...] = ()
        if request.previous_id is not None:
            previous = self.get(who, request.previous_id, "previous_response_id")
            history = tuple(message_of(m) for m in previous.conversation)
        conversation = (*history, *request.input)
        system = (Message("system", request.instructions),) if request.instructions else ()
        generation = replace(request.generation, messages=(*system, *conversation))
        prepared = self.answering.prepare(who, request.model, generation)
        return PreparedResponse(
            f"resp_{secrets.token_hex(16)}",
            f"msg_{secrets.token_hex(16)}",
            who,
            request,
            prepared,
            conversation,
        )

    async def events(self, p: PreparedResponse) -> AsyncIterator[Event | ResponseRecord]:
        """The answer's events as they come, then its record (stored unless asked not to)."""
        text: list[str] = []
        calls: dict[int, dict] = {}
        async for event in self.answering.stream(p.who, p.prepared):
            if isinstance(event, TextDelta):
                text.append(event.text)
            elif isinstance(event, ToolCallDelta):
                call = calls.setdefault(event.index, {"id": "", "name": "", "arguments": ""})
                call["id"] = event.id or call["id"]
                call["name"] = event.name or call["name"]
                call["arguments"] += event.arguments
            yield event
            if isinstance(event, Finished):
                record = self._record(p, "".join(text), [calls[i] for i in sorted(calls)], event)
                if p.request.store:
                    await asyncio.to_thread(self.store.save, record)
                yield record

    async def complete(self, p: PreparedResponse) -> ResponseRecord:
        record = None
        async for item in self.events(p):
            if isinstance(item, ResponseRecord):
                record = item
        if record is None:  # a backend that breaks its contract
            raise RuntimeError("The answer ended without a Finished event.")
        return record

    def _record(
        self, p: PreparedResponse, text: str, calls: list[dict], finished: Finished
    ) -> ResponseRecord:
        output: list[dict] = []
        if text or not calls:
            output.append({"type": "message", "id": p.message_id, "text": text})
        for call in calls:
            output.append(
                {
                    "type": "function_call",
                    "id": call_item_id(call["id"]),
                    "call_id": call["id"],
                    "name": call["name"],
                    "arguments": call["arguments"],
                }
            )
        answer = Message(
            "assistant", text, tuple(ToolCall(c["id"], c["name"], c["arguments"]) for c in calls)
        )
        usage = {
            "input_tokens": finished.prompt_tokens,
            "output_tokens": finished.completion_tokens,
            "total_tokens": finished.prompt_tokens + finished.completion_tokens,
            **finished.extra,
        }
        return ResponseRecord(
            id=p.id,
            user_id=p.who.user_id,
            model=p.request.model,
            previous_id=p.request.previous_id,
            status="incomplete" if finished.reason == "length" else "completed",
            output=output,
            usage=usage,
            conversation=[message_record(m) for m in (*p.conversation, answer)],
            request={**(p.request.echo or {}), "instructions": p.request.instructions},
            created_at=now_text(),
        )
