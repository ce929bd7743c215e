"""One model, several upstream servers: which one answers the next request.

A catalogue entry may list several OpenAI-compatible base URLs for one model (vLLM,
llama.cpp servers… a model server per GPU). :class:`UpstreamPool` picks, for each request,
the healthy upstream with the fewest requests in flight (ties: the one used least
recently), and gives the others in order as fallbacks. A call that fails before its
first token — connection refused or reset, a 5xx — is retried on the next
upstream: no request is lost to a server that died. After it was sent, a failure ends the
answer with an error event (the caller's stream reports it; nothing is cut silently).

Health: passive (three failures in a row take an upstream out) and active (every
``interval`` seconds each upstream not busy answering is asked its ``/models``; one out of
service comes back as soon as it answers; one that refuses connections goes out at once,
one slow to answer counts a failure). While every upstream is out,
requests still try them all: a pool never refuses by itself.

Why not a routing library: LiteLLM's Router does this and much more (provider SDKs,
budgets, caching), but it brings a large dependency tree and its own request and
response objects between Greffier and the OpenAI client it already uses; what Greffier
needs is this small policy, measured in benchmarks/gateway.py.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar

import httpx
import openai

from greffier.errors import ModelBusy

log = logging.getLogger(__name__)

FAILURES_TO_EJECT = 3
T = TypeVar("T")


def retryable(exc: BaseException) -> bool:
    """A failure another upstream may not have: the server unreachable, cut off, or failing
    (5xx). A refusal of the request itself (4xx) would be the same anywhere; a timeout
    (setting upstream_timeout) bounds the whole call, and sending the request again to
    another server of a loaded pool would add to the load that made it late."""
    if isinstance(exc, openai.APIStatusError):
        return exc.status_code >= 500
    if isinstance(exc, openai.APITimeoutError | httpx.TimeoutException):
        return False
    return isinstance(exc, openai.APIConnectionError | httpx.TransportError)


def failing(exc: BaseException) -> bool:
    """A failure that counts against the upstream (three in a row take it out)."""
    return retryable(exc) or isinstance(exc, openai.APITimeoutError | httpx.TimeoutException)


def describe(exc: BaseException) -> str:
    if isinstance(exc, openai.APIStatusError):
        return f"HTTP {exc.status_code}"
    return type(exc).__name__


@dataclass
class Upstream:
    url: str
    client: object  # the OpenAI client bound to this URL (async for chat, sync for embeddings)
    in_flight: int = 0
    healthy: bool = True
    failures: int = 0  # in a row
    last_used: float = 0.0
    down_since: float | None = None
    checked: bool = False  # asked at least once (a call or a health check)
    served: int = 0  # calls answered, since the process started
    failed: int = 0  # calls and health checks that failed

    def record_failure(self) -> bool:
        """Count a failure; True when this one takes the upstream out."""
        self.checked = True
        self.failures += 1
        self.failed += 1
        if self.healthy and self.failures >= FAILURES_TO_EJECT:
            self.healthy = False
            self.down_since = time.monotonic()
            return True
        return False

    def record_success(self) -> bool:
        """A success (a served request or a health check); True when it brings it back."""
        self.checked = True
        self.failures = 0
        if not self.healthy:
            self.healthy = True
            self.down_since = None
            return True
        return False


@dataclass
class UpstreamPool:
    model: str
    upstreams: list[Upstream]
    limit: int = 0  # requests in flight on all upstreams together; 0: no limit

    def candidates(self) -> list[Upstream]:
        """Every upstream, in the order to try them: healthy ones first, fewest in flight
        first, then the least recently used; then those out of service."""
        return sorted(
            self.upstreams, key=lambda u: (not u.healthy, u.in_flight, u.last_used, u.url)
        )

    @contextmanager
    def using(self, upstream: Upstream) -> Iterator[Upstream]:
        upstream.in_flight += 1
        upstream.last_used = time.monotonic()
        try:
            yield upstream
        finally:
            upstream.in_flight -= 1

    def failed(self, upstream: Upstream, why: str) -> None:
        if upstream.record_failure():
            log.warning("Upstream %s of %s is out of service: %s", upstream.url, self.model, why)

    def succeeded(self, upstream: Upstream) -> None:
        if upstream.record_success():
            log.warning("Upstream %s of %s is back in service", upstream.url, self.model)

    def _answered(self, upstream: Upstream) -> None:
        upstream.served += 1
        self.succeeded(upstream)

    def _retry(self, upstream: Upstream, exc: BaseException, started: bool) -> bool:
        """Count a failed attempt against its upstream; True when the request may go to the
        next one (nothing was sent to the caller yet, and the failure is worth retrying)."""
        if failing(exc):
            self.failed(upstream, describe(exc))
        return not started and retryable(exc)

    def _admit(self) -> None:
        if self.limit and sum(u.in_flight for u in self.upstreams) >= self.limit:
            raise ModelBusy(
                f"Model '{self.model}' is busy: {self.limit} requests already in flight on "
                "its servers. Retry later.",
                retry_after=2,
            )

    async def stream(self, run: Callable[[Upstream], AsyncIterator[T]]) -> AsyncIterator[T]:
        """The items of ``run(upstream)``, from the first upstream that gives one: a failure
        before the first item moves on to the next upstream; after it, it is raised (the
        caller ends its answer with an error)."""
        self._admit()
        failure: BaseException | None = None
        for upstream in self.candidates():
            started = False
            with self.using(upstream):
                try:
                    async for item in run(upstream):
                        if not started:  # it answers: the consumer may stop reading any time
                            started = True
                            self._answered(upstream)
                        yield item
                except Exception as exc:
                    if not self._retry(upstream, exc, started):
                        raise
                    failure = exc
                    continue
            return
        assert failure is not None
        raise failure

    def items(self, run: Callable[[Upstream], Iterator[T]]) -> Iterator[T]:
        """:meth:`stream` for a blocking iterator (speech as it is synthesised)."""
        self._admit()
        failure: BaseException | None = None
        for upstream in self.candidates():
            started = False
            with self.using(upstream):
                try:
                    for item in run(upstream):
                        if not started:
                            started = True
                            self._answered(upstream)
                        yield item
                except Exception as exc:
                    if not self._retry(upstream, exc, started):
                        raise
                    failure = exc
                    continue
            return
        assert failure is not None
        raise failure

    def call(self, run: Callable[[Upstream], T]) -> T:
        """``run(upstream)`` on the first upstream that answers (a blocking call)."""
        self._admit()
        failure: BaseException | None = None
        for upstream in self.candidates():
            with self.using(upstream):
                try:
                    result = run(upstream)
                except Exception as exc:
                    if not self._retry(upstream, exc, started=False):
                        raise
                    failure = exc
                    continue
            self._answered(upstream)
            return result
        assert failure is not None
        raise failure

    def healthy_count(self, probe: bool = False) -> int:
        """Upstreams in service. With ``probe``, those never asked yet are asked first
        (``GET /models``, blocking): a pool nobody used yet is not assumed up."""
        if probe:
            for upstream in self.upstreams:
                if not upstream.checked:
                    try:
                        key = getattr(upstream.client, "api_key", "")
                        httpx.get(
                            f"{upstream.url}/models",
                            headers={"Authorization": f"Bearer {key}"},
                            timeout=2.0,
                        ).raise_for_status()
                    except httpx.HTTPError as exc:
                        self._missed(upstream, exc)
                    else:
                        self.succeeded(upstream)
        return sum(u.healthy for u in self.upstreams)

    async def watch(self, probe: Callable[[Upstream], object], interval: float) -> None:
        """Check every upstream every ``interval`` seconds (``probe`` raises when it does
        not answer), until cancelled."""
        while True:
            await asyncio.gather(*(self._check(u, probe) for u in self.upstreams))
            await asyncio.sleep(interval)

    async def _check(self, upstream: Upstream, probe) -> None:
        if upstream.healthy and upstream.in_flight:
            return  # it is answering: its answers say how it is (some servers serialise
            # every request, the check would wait for them, or interrupt them)
        try:
            await probe(upstream)
        except Exception as exc:
            self._missed(upstream, exc)
        else:
            self.succeeded(upstream)

    def _missed(self, upstream: Upstream, exc: BaseException) -> None:
        """A failed health check: a server that refuses connections is out at once; one
        that is only slow to answer counts one failure (three in a row take it out)."""
        if isinstance(exc, openai.APITimeoutError | httpx.TimeoutException):
            self.failed(upstream, "health check: no answer in time")
            return
        upstream.failures = max(upstream.failures, FAILURES_TO_EJECT - 1)
        self.failed(upstream, f"health check: {describe(exc)}")
