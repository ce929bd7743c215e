"""POST /v1/responses (OpenAI's Responses API), GET and DELETE /v1/responses/{id}.

Input items (text messages, ``function_call``, ``function_call_output``), ``instructions``,
``max_output_tokens``, sampling, function ``tools``, ``tool_choice``, ``text.format``
(JSON object or schema), ``previous_response_id``, ``store``, and streaming with the
Responses events (``response.created`` … ``response.output_text.delta`` …
``response.completed``). Everything else the API offers (images, files, built-in tools,
reasoning) is refused with a 400 naming it.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from greffier.api.errors import documented, error_body
from greffier.api.routes.chat import STREAMED
from greffier.api.schemas import StreamOptions, TextPart, _only, part_texts
from greffier.errors import GreffierError, InvalidRequest, Unsupported
from greffier.models.backends.base import (
    Finished,
    Generation,
    Message,
    NamedTool,
    ResponseFormat,
    TextDelta,
    Tool,
    ToolCall,
    ToolCallDelta,
    ToolChoice,
)
from greffier.services.responses import PreparedResponse, ResponseRequest, call_item_id
from greffier.store.records import ResponseRecord

router = APIRouter(
    prefix="/v1", tags=["responses"], responses=documented(403, 404, 413, 502, 503, 504)
)

_SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


ROLES = ("user", "assistant", "system", "developer")
_TEXT_PART = {
    "type": "object",
    "properties": {
        "type": {"enum": ["input_text", "output_text", "text"]},
        "text": {"type": "string"},
    },
    "required": ["type", "text"],
}
INPUT_ITEM_SCHEMAS = [
    {
        "type": "object",
        "properties": {
            "type": {"const": "message"},
            "role": {"enum": list(ROLES)},
            "content": {
                "anyOf": [{"type": ["string", "null"]}, {"type": "array", "items": _TEXT_PART}]
            },
        },
        "required": ["role"],
    },
    {
        "type": "object",
        "properties": {
            "type": {"const": "function_call"},
            "call_id": {"type": "string"},
            "name": {"type": "string"},
            "arguments": {"type": "string"},
        },
        "required": ["type", "call_id", "name", "arguments"],
    },
    {
        "type": "object",
        "properties": {"type": {"const": "function_call_output"}, "call_id": {"type": "string"}},
        "required": ["type", "call_id", "output"],
    },
]
INPUT_SCHEMA = {
    "anyOf": [
        {"type": "string"},
        {"type": "array", "items": {"anyOf": INPUT_ITEM_SCHEMAS}, "minItems": 1},
    ]
}
FUNCTION_TOOL_SCHEMA = {
    "type": "object",
    "properties": {
        "type": {"const": "function"},
        "name": {"type": "string", "minLength": 1},
        "description": {"type": ["string", "null"]},
        "parameters": {"type": ["object", "null"]},
        "strict": {"type": ["boolean", "null"]},
    },
    "required": ["type", "name"],
}
KINDS = {str: "string", dict: "JSON object", bool: "boolean"}
TOOL_CHOICE_SCHEMAS = (
    {"enum": ["auto", "none", "required"]},
    {
        "type": "object",
        "properties": {"type": {"const": "function"}, "name": {"type": "string", "minLength": 1}},
        "required": ["type", "name"],
    },
)


class TextFormat(BaseModel):
    # A json_schema format carries its schema (checked in format_of).
    model_config = ConfigDict(
        extra="ignore",
        json_schema_extra={
            "anyOf": [
                {"properties": {"type": {"enum": ["text", "json_object"]}}},
                {
                    "properties": {"type": {"const": "json_schema"}, "schema": {"type": "object"}},
                    "required": ["type", "schema"],
                },
            ]
        },
    )

    type: Literal["text", "json_object", "json_schema"] = "text"
    name: str = "response"
    json_schema: dict | None = Field(None, alias="schema")
    strict: bool | None = False


class TextConfig(BaseModel):
    model_config = ConfigDict(extra="ignore")

    format: TextFormat | None = None


class ResponsesRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    model: str = Field(min_length=1)
    # The shapes input_messages reads, each checked there with a precise message.
    input: str | list[dict[str, Any]] = Field(json_schema_extra=INPUT_SCHEMA)
    instructions: str | None = None
    max_output_tokens: int | None = Field(None, ge=1)
    temperature: float | None = Field(None, ge=0, le=2)
    top_p: float | None = Field(None, gt=0, le=1)
    # Not OpenAI's, but sent by clients such as llm; bounds as for chat completions.
    seed: int | None = Field(None, ge=-(2**31), le=2**32 - 1)
    stream: bool = False
    stream_options: StreamOptions | None = None
    tools: list[dict[str, Any]] | None = Field(
        None, json_schema_extra=_only({"type": "array", "items": FUNCTION_TOOL_SCHEMA})
    )
    tool_choice: str | dict[str, Any] | None = Field(
        None, json_schema_extra=_only(*TOOL_CHOICE_SCHEMAS)
    )
    parallel_tool_calls: bool | None = None
    text: TextConfig | None = None
    previous_response_id: str | None = None
    store: bool | None = True
    metadata: dict[str, str] | None = None
    user: str | None = None
    # Log-probabilities are given by chat completions; here they are refused, not ignored.
    top_logprobs: int | None = Field(None, json_schema_extra=_only({"const": 0}))
    background: bool | None = Field(None, json_schema_extra=_only({"const": False}))
    reasoning: dict[str, Any] | None = Field(
        None,
        json_schema_extra=_only(
            {"type": "object", "properties": {"effort": {"enum": [None, "none", "minimal"]}}}
        ),
    )

    def tools_of(self) -> tuple[Tool, ...]:
        out = []
        for i, tool in enumerate(self.tools or ()):
            if tool.get("type") != "function":
                raise Unsupported(
                    f"Tools of type '{tool.get('type')}' are not supported: only functions.",
                    param=f"tools.{i}.type",
                )
            name = tool.get("name")
            if not isinstance(name, str) or not name:
                raise InvalidRequest("A function tool needs its name.", param=f"tools.{i}.name")
            for field, kind in (("description", str), ("parameters", dict), ("strict", bool)):
                if tool.get(field) is not None and not isinstance(tool[field], kind):
                    raise InvalidRequest(
                        f"A function tool's {field} is a {KINDS[kind]}.",
                        param=f"tools.{i}.{field}",
                    )
            out.append(
                Tool(
                    name,
                    tool.get("description") or "",
                    tool.get("parameters") or {"type": "object", "properties": {}},
                    bool(tool.get("strict")),
                )
            )
        return tuple(out)

    def tool_choice_of(self) -> ToolChoice:
        choice = self.tool_choice
        if choice is None:
            return "auto"
        if isinstance(choice, str) and choice in ("auto", "none", "required"):
            return choice
        if isinstance(choice, dict) and choice.get("type") == "function":
            name = choice.get("name")
            if isinstance(name, str) and name:
                return NamedTool(name)
        raise Unsupported(
            "tool_choice is 'auto', 'none', 'required' or a function.", param="tool_choice"
        )

    def format_of(self) -> ResponseFormat | None:
        fmt = self.text.format if self.text else None
        if fmt is None or fmt.type == "text":
            return None
        if fmt.type == "json_schema" and fmt.json_schema is None:
            raise InvalidRequest(
                "A json_schema format needs its schema.", param="text.format.schema"
            )
        return ResponseFormat(fmt.type, fmt.json_schema, fmt.name, bool(fmt.strict))

    def to_request(self) -> ResponseRequest:
        if self.top_logprobs:
            raise Unsupported(
                "Log-probabilities are given by /v1/chat/completions (logprobs, top_logprobs).",
                param="top_logprobs",
            )
        if self.background:
            raise Unsupported("Background responses are not supported.", param="background")
        if self.reasoning and self.reasoning.get("effort") not in (None, "none", "minimal"):
            raise Unsupported("Reasoning options are not supported.", param="reasoning")
        generation = Generation(
            max_tokens=self.max_output_tokens,
            temperature=1.0 if self.temperature is None else self.temperature,
            top_p=1.0 if self.top_p is None else self.top_p,
            seed=self.seed,
            stream=self.stream,
            tools=self.tools_of(),
            tool_choice=self.tool_choice_of(),
            parallel_tool_calls=self.parallel_tool_calls is not False,
            response_format=self.format_of(),
        )
        return ResponseRequest(
            self.model,
            input_messages(self.input),
            generation,
            self.instructions,
            self.previous_response_id,
            self.store is not False,
            echo=self.model_dump(
                include={
                    "max_output_tokens",
                    "metadata",
                    "text",
                    "tool_choice",
                    "tools",
                    "user",
                    "parallel_tool_calls",
                    "temperature",
                    "top_p",
                },
                mode="json",
                by_alias=True,
            ),
        )


def _content(item: dict, i: int) -> str:
    """A message item's text: a string, or text parts."""
    content = item.get("content")
    param = f"input.{i}.content"
    if content is None or isinstance(content, str):
        return content or ""
    if not isinstance(content, list):
        raise InvalidRequest("A message's content is text or a list of parts.", param=param)
    parts = []
    for j, part in enumerate(content):
        if not isinstance(part, dict) or not isinstance(part.get("type"), str):
            raise InvalidRequest("A content part is an object with a type.", param=f"{param}.{j}")
        text = part.get("text")
        if text is not None and not isinstance(text, str):
            raise InvalidRequest("A text part's text is a string.", param=f"{param}.{j}.text")
        parts.append(TextPart(type=part["type"], text=text))
    return part_texts(parts, param)


def _text_field(item: dict, i: int, field: str) -> str:
    value = item.get(field)
    if not isinstance(value, str):
        raise InvalidRequest(
            f"A {item.get('type')} item needs '{field}', a string.", param=f"input.{i}.{field}"
        )
    return value


def input_messages(items: str | list[dict[str, Any]]) -> tuple[Message, ...]:
    """The input as chat messages: consecutive function calls join one assistant turn."""
    if isinstance(items, str):
        return (Message("user", items),)
    out: list[Message] = []
    for i, item in enumerate(items):
        kind = item.get("type", "message")
        if kind == "message":
            role = item.get("role")
            if role not in ROLES:
                raise InvalidRequest(
                    f"A message's role is user, assistant, system or developer, not {role!r}.",
                    param=f"input.{i}.role",
                )
            text = _content(item, i)
            out.append(Message("system" if role == "developer" else role, text))
        elif kind == "function_call":
            call = ToolCall(*(_text_field(item, i, f) for f in ("call_id", "name", "arguments")))
            if out and out[-1].role == "assistant" and out[-1].tool_calls:
                last = out.pop()
                out.append(Message("assistant", last.content, (*last.tool_calls, call)))
            else:
                out.append(Message("assistant", "", (call,)))
        elif kind == "function_call_output":
            call_id = _text_field(item, i, "call_id")
            if "output" not in item:
                raise InvalidRequest(
                    "A function_call_output item needs its 'output'.", param=f"input.{i}.output"
                )
            output = item["output"]
            text = output if isinstance(output, str) else json.dumps(output, ensure_ascii=False)
            out.append(Message("tool", text, tool_call_id=call_id))
        else:
            raise Unsupported(
                f"Input items of type '{kind}' are not supported: send messages, "
                "function_call and function_call_output items.",
                param=f"input.{i}.type",
            )
    if not out:
        raise InvalidRequest("'input' holds no item.", param="input")
    return tuple(out)


# --- the response object --------------------------------------------------------------------


def _unix(timestamp: str) -> int:
    return int(datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp())


def output_item(item: dict, status: str = "completed") -> dict:
    if item["type"] == "message":
        text = item.get("text", "")
        return {
            "type": "message",
            "id": item["id"],
            "status": status,
            "role": "assistant",
            "content": [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}]
            if status == "completed" or text
            else [],
        }
    return {
        "type": "function_call",
        "id": item["id"],
        "call_id": item["call_id"],
        "name": item["name"],
        "arguments": item["arguments"],
        "status": status,
    }


def _usage(usage: dict) -> dict:
    return {
        **usage,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens_details": {"reasoning_tokens": 0},
    }


def response_object(
    id_: str,
    model: str,
    created: int,
    echo: dict,
    status: str,
    output: list[dict],
    usage: dict | None,
    previous_id: str | None,
    store: bool,
) -> dict:
    fmt = (echo.get("text") or {}).get("format") or {"type": "text"}
    return {
        "id": id_,
        "object": "response",
        "created_at": created,
        "status": status,
        "error": None,
        "incomplete_details": {"reason": "max_output_tokens"} if status == "incomplete" else None,
        "instructions": echo.get("instructions"),
        "max_output_tokens": echo.get("max_output_tokens"),
        "model": model,
        "output": output,
        "parallel_tool_calls": echo.get("parallel_tool_calls") is not False,
        "previous_response_id": previous_id,
        "reasoning": {"effort": None, "summary": None},
        "store": store,
        "temperature": 1.0 if echo.get("temperature") is None else echo["temperature"],
        "text": {"format": {k: v for k, v in fmt.items() if v is not None}},
        "tool_choice": echo.get("tool_choice") or "auto",
        "tools": echo.get("tools") or [],
        "top_p": 1.0 if echo.get("top_p") is None else echo["top_p"],
        "truncation": "disabled",
        "usage": _usage(usage) if usage is not None else None,
        "user": echo.get("user"),
        "metadata": echo.get("metadata") or {},
    }


def record_object(record: ResponseRecord, store: bool = True) -> dict:
    return response_object(
        record.id,
        record.model,
        _unix(record.created_at),
        record.request,
        record.status,
        [output_item(i) for i in record.output],
        record.usage,
        record.previous_id,
        store,
    )


# --- the routes -------------------------------------------------------------------------------


@router.post("/responses", responses=STREAMED)
async def create_response(body: ResponsesRequest, request: Request):
    service, who = request.app.state.services.responses, request.state.principal
    prepared = await run_in_threadpool(service.prepare, who, body.to_request())
    if not body.stream:
        record = await service.complete(prepared)
        return JSONResponse(record_object(record, prepared.request.store))
    events = service.events(prepared)
    try:
        first = await anext(events)
    except BaseException:
        await events.aclose()
        raise
    return StreamingResponse(
        _stream(prepared, events, first), media_type="text/event-stream", headers=_SSE_HEADERS
    )


@router.get("/responses/{response_id}")
def get_response(response_id: str, request: Request) -> dict:
    record = request.app.state.services.responses.get(request.state.principal, response_id)
    return record_object(record)


@router.delete("/responses/{response_id}")
def delete_response(response_id: str, request: Request) -> dict:
    request.app.state.services.responses.delete(request.state.principal, response_id)
    return {"id": response_id, "object": "response", "deleted": True}


async def _stream(p: PreparedResponse, events: AsyncIterator, first) -> AsyncIterator[str]:
    """The Responses streaming events, each ``event: <type>`` with its JSON."""
    sequence = 0
    created = int(datetime.now().timestamp())
    echo = {**(p.request.echo or {}), "instructions": p.request.instructions}

    def sse(kind: str, **fields) -> str:
        nonlocal sequence
        payload = {"type": kind, "sequence_number": sequence, **fields}
        sequence += 1
        return f"event: {kind}\ndata: {json.dumps(payload, ensure_ascii=False)}\n\n"

    def snapshot(status: str, output: list[dict], usage: dict | None = None) -> dict:
        return response_object(
            p.id,
            p.request.model,
            created,
            echo,
            status,
            output,
            usage,
            p.request.previous_id,
            p.request.store,
        )

    done: list[dict] = []  # finished output items, response-shaped
    current: dict | None = None  # the item being written: {"item": …, "index": …}

    def close_current() -> list[str]:
        nonlocal current
        if current is None:
            return []
        item, index = current["item"], current["index"]
        out = []
        if item["type"] == "message":
            text = item["text"]
            part = {"type": "output_text", "text": text, "annotations": [], "logprobs": []}
            out += [
                sse(
                    "response.output_text.done",
                    item_id=item["id"],
                    output_index=index,
                    content_index=0,
                    text=text,
                    logprobs=[],
                ),
                sse(
                    "response.content_part.done",
                    item_id=item["id"],
                    output_index=index,
                    content_index=0,
                    part=part,
                ),
            ]
        else:
            out.append(
                sse(
                    "response.function_call_arguments.done",
                    item_id=item["id"],
                    output_index=index,
                    arguments=item["arguments"],
                )
            )
        shaped = output_item(item)
        out.append(sse("response.output_item.done", output_index=index, item=shaped))
        done.append(shaped)
        current = None
        return out

    try:
        yield sse("response.created", response=snapshot("in_progress", []))
        yield sse("response.in_progress", response=snapshot("in_progress", []))
        item = first
        while True:
            if isinstance(item, TextDelta) and item.text:
                if current is None or current["item"]["type"] != "message":
                    for line in close_current():
                        yield line
                    message = {"type": "message", "id": p.message_id, "text": ""}
                    current = {"item": message, "index": len(done)}
                    yield sse(
                        "response.output_item.added",
                        output_index=current["index"],
                        item=output_item(message, "in_progress"),
                    )
                    yield sse(
                        "response.content_part.added",
                        item_id=p.message_id,
                        output_index=current["index"],
                        content_index=0,
                        part={"type": "output_text", "text": "", "annotations": [], "logprobs": []},
                    )
                current["item"]["text"] += item.text
                yield sse(
                    "response.output_text.delta",
                    item_id=p.message_id,
                    output_index=current["index"],
                    content_index=0,
                    delta=item.text,
                    logprobs=[],
                )
            elif isinstance(item, ToolCallDelta):
                if item.id is not None and (
                    current is None or current["item"].get("call_id") != item.id
                ):
                    for line in close_current():
                        yield line
                    call = {
                        "type": "function_call",
                        "id": call_item_id(item.id),
                        "call_id": item.id,
                        "name": item.name or "",
                        "arguments": "",
                    }
                    current = {"item": call, "index": len(done)}
                    yield sse(
                        "response.output_item.added",
                        output_index=current["index"],
                        item=output_item(call, "in_progress"),
                    )
                if current is not None and item.arguments:
                    current["item"]["arguments"] += item.arguments
                    yield sse(
                        "response.function_call_arguments.delta",
                        item_id=current["item"]["id"],
                        output_index=current["index"],
                        delta=item.arguments,
                    )
            elif isinstance(item, Finished):
                for line in close_current():
                    yield line
            elif isinstance(item, ResponseRecord):
                kind = "response.completed" if item.status == "completed" else "response.incomplete"
                yield sse(kind, response=snapshot(item.status, done, item.usage))
                break
            item = await anext(events)
    except GreffierError as exc:
        body = error_body(exc.message, exc.type, exc.param, exc.code)["error"]
        yield sse("error", **body)
    finally:
        await events.aclose()
