"""Chat and text completion on any catalogue model.

Validates what a backend cannot know is wrong (limits against the model's context
window), then hands the request to the model's backend. Streaming and non-streaming
callers use the same event stream; :meth:`ChatService.answer` assembles it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace

from greffier.errors import InvalidRequest, Unsupported, UpstreamError
from greffier.metrics import Metrics
from greffier.models.backends.base import (
    ChatBackend,
    Event,
    Finished,
    Generation,
    Message,
    NamedTool,
    TextDelta,
    TokenLogprob,
    ToolCall,
    ToolCallDelta,
)
from greffier.models.grammars import unenforced
from greffier.models.registry import ModelRegistry
from greffier.services.principal import Principal
from greffier.services.quotas import QuotaService
from greffier.services.usage import UsageService


@dataclass(frozen=True)
class Answer:
    text: str
    finish_reason: str
    prompt_tokens: int
    completion_tokens: int
    extra: dict = field(default_factory=dict)  # extension fields of `usage`
    tool_calls: tuple[ToolCall, ...] = ()
    logprobs: tuple[TokenLogprob, ...] | None = None  # when asked for


MAX_TOP_LOGPROBS = 20  # OpenAI's limit


def check_request(backend: ChatBackend, request: Generation) -> None:
    """Refuse, with the parameter at fault, what this request asks that cannot be done."""
    model = backend.entry.id
    if request.tools and not backend.supports_tools:
        raise Unsupported(f"Model '{model}' cannot call functions here.", param="tools")
    names = [t.name for t in request.tools]
    if len(set(names)) != len(names):
        raise InvalidRequest(
            "Two tools have the same name.", param="tools", code="duplicate_tool_name"
        )
    choice = request.tool_choice
    if choice != "auto" and choice != "none" and not request.tools:
        raise InvalidRequest(
            "tool_choice needs tools to choose from.",
            param="tool_choice",
            code="invalid_tool_choice",
        )
    if isinstance(choice, NamedTool) and choice.name not in names:
        raise InvalidRequest(
            f"tool_choice names '{choice.name}', which is not among the tools "
            f"({', '.join(names)}).",
            param="tool_choice",
            code="invalid_tool_choice",
        )
    fmt = request.response_format
    if fmt is not None and fmt.type != "text":
        if not backend.supports_response_format:
            raise Unsupported(
                f"Model '{model}' cannot be held to a response format here.",
                param="response_format",
            )
        if fmt.type == "json_schema" and fmt.strict and (found := unenforced(fmt.schema)):
            raise Unsupported(
                "A strict JSON schema must be enforceable, and these keywords cannot be: "
                f"{', '.join(found)}. Remove them, or set strict to false.",
                param="response_format",
                code="unenforceable_schema",
            )
    for tool in request.tools:
        if tool.strict and (found := unenforced(tool.parameters)):
            raise Unsupported(
                f"Tool '{tool.name}' is strict, but these keywords of its parameters cannot "
                f"be enforced: {', '.join(found)}.",
                param="tools",
                code="unenforceable_schema",
            )
    if request.logprobs and not backend.supports_logprobs:
        raise Unsupported(f"Model '{model}' gives no log-probabilities here.", param="logprobs")
    if request.top_logprobs and not request.logprobs:
        raise InvalidRequest(
            "top_logprobs needs logprobs to be true.",
            param="top_logprobs",
            code="logprobs_not_requested",
        )
    if not 0 <= request.top_logprobs <= MAX_TOP_LOGPROBS:
        raise InvalidRequest(f"top_logprobs is at most {MAX_TOP_LOGPROBS}.", param="top_logprobs")


def _merged(deltas: list[ToolCallDelta]) -> tuple[ToolCall, ...]:
    """Whole calls from their streamed pieces, in order."""
    calls: dict[int, dict] = {}
    for d in deltas:
        call = calls.setdefault(d.index, {"id": "", "name": "", "arguments": ""})
        call["id"] = d.id or call["id"]
        call["name"] = d.name or call["name"]
        call["arguments"] += d.arguments
    return tuple(ToolCall(**calls[i]) for i in sorted(calls))


@dataclass(frozen=True)
class Tokenized:
    tokens: list[int]
    context_window: int  # the model's, prompt and completion together
    pieces: list[str] | None = None  # each token's text, when asked for


class ChatService:
    def __init__(
        self,
        registry: ModelRegistry,
        default_model: str,
        usage: UsageService | None = None,
        quotas: QuotaService | None = None,
        metrics: Metrics | None = None,
    ):
        self.registry = registry
        self.default_model = default_model
        self.usage = usage
        self.quotas = quotas
        self.metrics = metrics

    def backend_for(self, model: str | None) -> ChatBackend:
        backend = self.registry.chat_backend(model or self.default_model)
        self.registry.require_ready(backend.entry.id)
        return backend

    def candidates(self, model: str | None) -> list[str]:
        """The models a request naming ``model`` may go to: an alias's, in order."""
        return self.registry.catalogue.candidates(model or self.default_model)

    def require_up(self, backend: ChatBackend) -> None:
        """Raise unless ``backend`` can answer now: for an upstream model, at least one of
        its servers in service (asked now if none was ever asked: blocking)."""
        healthy = getattr(backend, "healthy_upstreams", None)
        if healthy is not None and not healthy(probe=True):
            raise UpstreamError(f"No upstream server of model '{backend.entry.id}' answers.")

    def tokenize(
        self,
        model: str,
        *,
        prompt: str | None = None,
        messages: tuple[Message, ...] | None = None,
        special: bool = False,
        pieces: bool = False,
    ) -> Tokenized:
        """Token ids of a prompt, or of messages rendered by the model's chat template
        (where special tokens are always read as such). Blocking."""
        backend = self.backend_for(model)
        if messages is not None:
            tokens = backend.tokenize(backend.render_chat(messages), special=True)
        else:
            tokens = backend.tokenize(prompt or "", special=special)
        shown = [backend.detokenize([t]) for t in tokens] if pieces else None
        return Tokenized(tokens, backend.context_window, shown)

    def detokenize(self, model: str, tokens: list[int]) -> str:
        return self.backend_for(model).detokenize(tokens)

    def generate(
        self, model: str | None, request: Generation, who: Principal | None = None
    ) -> AsyncIterator[Event]:
        """``who``, when given, is charged the tokens (daily token quotas)."""
        backend = self.backend_for(model)
        if request.prompt is None and not request.messages:
            raise InvalidRequest("'messages' must hold at least one message.", param="messages")
        if request.max_tokens is not None and request.max_tokens > backend.context_window:
            raise InvalidRequest(
                f"max_tokens is {request.max_tokens}, but model '{backend.entry.id}' accepts "
                f"at most {backend.context_window} tokens in all.",
                param="max_tokens",
            )
        check_request(backend, request)
        stream = backend.generate(request)
        if self.usage is None:
            return stream
        return self._accounted(backend.entry.id, request, stream, who)

    async def _accounted(
        self,
        model: str,
        request: Generation,
        stream: AsyncIterator[Event],
        who: Principal | None,
    ) -> AsyncIterator[Event]:
        """Add the usage extension to the Finished event and count it in the daily totals
        (and, with metrics, the time to the first piece of text and the tokens)."""
        started, waiting_first = time.perf_counter(), True
        try:
            async for event in stream:
                if isinstance(event, TextDelta) and waiting_first:
                    waiting_first = False
                    if self.metrics is not None:
                        elapsed = time.perf_counter() - started
                        self.metrics.first_token.labels(model).observe(elapsed)
                elif isinstance(event, Finished):
                    self._count(model, event)
                    event = replace(event, extra=self.usage.describe(model, request, event))
                    await asyncio.to_thread(self.usage.record, model, event)
                    if who is not None and self.quotas is not None:
                        tokens = event.prompt_tokens + event.completion_tokens
                        await asyncio.to_thread(self.quotas.record_tokens, who, tokens)
                yield event
        finally:
            await stream.aclose()  # a client that left must stop the backend now

    def _count(self, model: str, finished: Finished) -> None:
        if self.metrics is not None:
            self.metrics.tokens.labels(model, "prompt").inc(finished.prompt_tokens)
            self.metrics.tokens.labels(model, "completion").inc(finished.completion_tokens)
            self.metrics.energy.labels(model).inc(finished.energy_joules or 0.0)

    async def answer(
        self, model: str | None, request: Generation, who: Principal | None = None
    ) -> Answer:
        parts: list[str] = []
        logprobs: list[TokenLogprob] = []
        calls: list[ToolCallDelta] = []
        finished: Finished | None = None
        async for event in self.generate(model, request, who):
            if isinstance(event, TextDelta):
                parts.append(event.text)
                logprobs.extend(event.logprobs)
            elif isinstance(event, ToolCallDelta):
                calls.append(event)
            else:
                finished = event
        if finished is None:  # a backend that breaks its contract
            raise RuntimeError("The backend ended without a Finished event.")
        return Answer(
            "".join(parts),
            finished.reason,
            finished.prompt_tokens,
            finished.completion_tokens,
            finished.extra,
            tool_calls=_merged(calls),
            logprobs=tuple(logprobs) if request.logprobs else None,
        )
