"""Function calls written as text by in-process models, and read back.

Qwen2.5's chat template (and the Hermes format it follows) lists the offered functions in
the system turn and asks for each call as ``<tool_call>\\n{"name": …, "arguments": {…}}
\\n</tool_call>``. Small models sometimes write the same JSON object bare or inside a
```` ```json ```` fence instead: that is read as a call too, but only when the answer starts
with it and names an offered function, so an ordinary answer is never taken for a call.

:class:`CallStart` watches streamed text for the start of a call, holding back only what
may still turn out to be one; :func:`parse_calls` reads calls from finished text. Pure
text work: no model runtime here.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Iterable

from greffier.models.backends.base import Message, Tool, ToolCall
from greffier.models.grammars import CALL_CLOSE, CALL_OPEN

_BLOCK = re.compile(re.escape(CALL_OPEN) + r"(.*?)(?:" + re.escape(CALL_CLOSE) + r"|$)", re.S)
_FENCE = re.compile(r"^```(?:json)?\s*(.*?)\s*```$", re.S)
# How an answer that is a bare call begins, whitespace removed.
_HEADS = ("", "```json", "```")


def new_call_id() -> str:
    return f"call_{secrets.token_hex(12)}"


def _arguments_value(arguments: str) -> object:
    """Arguments as the template writes them: an object, or the text when it is no JSON."""
    try:
        return json.loads(arguments)
    except ValueError:
        return arguments


def template_messages(messages: Iterable[Message]) -> list[dict]:
    """Messages as chat templates read them (Hugging Face's convention: a call's
    ``arguments`` is an object, not JSON text)."""
    out = []
    for m in messages:
        item: dict = {"role": m.role, "content": m.content}
        if m.tool_calls:
            item["tool_calls"] = [
                {
                    "id": c.id,
                    "type": "function",
                    "function": {"name": c.name, "arguments": _arguments_value(c.arguments)},
                }
                for c in m.tool_calls
            ]
        if m.tool_call_id is not None:
            item["tool_call_id"] = m.tool_call_id
        out.append(item)
    return out


def template_tools(tools: Iterable[Tool]) -> list[dict]:
    """Tools as chat templates read them (the OpenAI request's own shape)."""
    return [
        {
            "type": "function",
            "function": {
                "name": t.name,
                "description": t.description,
                "parameters": t.parameters or {"type": "object", "properties": {}},
            },
        }
        for t in tools
    ]


class CallStart:
    """Finds where a call starts in streamed text.

    ``feed(text)`` returns the text that is surely not part of a call; once a call has
    started, ``start`` is its offset in all the text fed so far and nothing more is
    returned. A call starts at ``<tool_call>`` anywhere, or at the very beginning of the
    answer with a JSON object naming an offered function (``{"name": "get_weather"``,
    fenced or not)."""

    def __init__(self, names: Iterable[str]):
        self.text = ""
        self.start: int | None = None
        self._given = 0  # characters returned so far
        names = list(names)
        self._heads = [f'{h}{{"name":"{n}"' for h in _HEADS for n in names]
        self._at_head = True

    def feed(self, text: str) -> str:
        if self.start is not None:
            self.text += text
            return ""
        self.text += text
        if self._at_head:
            compact = "".join(self.text.split())
            if any(compact.startswith(h) for h in self._heads):
                self.start = 0
                return ""
            if any(h.startswith(compact) for h in self._heads):
                return ""  # may still become a call: hold everything
            self._at_head = False
        found = self.text.find(CALL_OPEN, self._given)
        if found >= 0:
            self.start = found
            out, self._given = self.text[self._given : found], found
            return out
        end = len(self.text) - _partial_suffix(self.text, CALL_OPEN)
        out, self._given = self.text[self._given : end], max(self._given, end)
        return out

    def flush(self) -> str:
        """The text held back, at the end of an answer that made no call."""
        if self.start is not None:
            return ""
        out, self._given = self.text[self._given :], len(self.text)
        return out


def _partial_suffix(text: str, marker: str) -> int:
    """Length of the longest end of ``text`` that begins ``marker``."""
    for n in range(min(len(marker) - 1, len(text)), 0, -1):
        if marker.startswith(text[-n:]):
            return n
    return 0


def _call(obj: object, names: set[str]) -> ToolCall | None:
    if not isinstance(obj, dict) or obj.get("name") not in names:
        return None
    arguments = obj.get("arguments", obj.get("parameters", {}))
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments)
        except ValueError:
            return None
    if not isinstance(arguments, dict):
        return None
    return ToolCall(new_call_id(), obj["name"], json.dumps(arguments, ensure_ascii=False))


def _same(a: ToolCall, b: ToolCall) -> bool:
    return a.name == b.name and _arguments_value(a.arguments) == _arguments_value(b.arguments)


def distinct(calls: Iterable[ToolCall]) -> list[ToolCall]:
    """The calls without repeats (a small model may write one call several times)."""
    out: list[ToolCall] = []
    for call in calls:
        if not any(_same(call, seen) for seen in out):
            out.append(call)
    return out


def answered(calls: Iterable[ToolCall], messages: Iterable[Message]) -> bool:
    """Whether every call repeats one the conversation already holds with its result."""
    messages = list(messages)
    results = {m.tool_call_id for m in messages if m.role == "tool"}
    done = [c for m in messages for c in m.tool_calls if c.id in results]
    calls = list(calls)
    return bool(calls) and all(any(_same(c, d) for d in done) for c in calls)


def parse_calls(
    text: str, tools: Iterable[Tool], cut: bool = False
) -> tuple[str, list[ToolCall]] | None:
    """(text before the calls, the calls) when ``text`` holds calls of offered functions,
    all well formed; None otherwise (the text is then an ordinary answer). ``cut``: the
    text was cut by the token limit, so its last call may be unfinished: it is left out."""
    names = {t.name for t in tools}
    if CALL_OPEN in text:
        calls = []
        bodies = _BLOCK.findall(text)
        for i, body in enumerate(bodies):
            try:
                call = _call(json.loads(body), names)
            except ValueError:
                call = None
            if call is None and cut and i == len(bodies) - 1 and calls:
                break
            if call is None:
                return None
            calls.append(call)
        return text[: text.index(CALL_OPEN)].strip(), distinct(calls)
    body = text.strip()
    if fenced := _FENCE.match(body):
        body = fenced.group(1)
    try:
        value = json.loads(body)
    except ValueError:
        return None
    items = value if isinstance(value, list) else [value]
    calls = [_call(item, names) for item in items]
    if not calls or any(c is None for c in calls):
        return None
    return "", distinct(calls)
