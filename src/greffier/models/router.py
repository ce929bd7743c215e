"""One model, several upstream servers: which one answers the next request.

A catalogue entry may list several OpenAI-compatible base URLs for one model (vLLM,
llama.cpp servers… a model server per GPU). :class:`UpstreamPool` picks, for each request,
the healthy upstream with the fewest requests in flight (ties: the one used least
recently), and gives the others in order as fallbacks. A call that fails before its
first token — connection refused or reset, a timeout, a 5xx — is retried on the next
upstream: no request is lost to a server that died. After it was sent, a failure ends the
answer with an error event (the caller's stream reports it; nothing is cut silently).

Health: passive (three failures in a row take an upstream out) and active (every
``interval`` seconds each upstream's ``/models`` is asked; an upstream out comes back as
soon as it answers; one that stops answering goes out). While every upstream is out,
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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

FAILURES_TO_EJECT = 3


@dataclass
class Upstream:
    url: str
    client: object  # the OpenAI client bound to this URL (async for chat, sync for embeddings)
    in_flight: int = 0
    healthy: bool = True
    failures: int = 0  # in a row
    last_used: float = 0.0
    down_since: float | None = None

    def record_failure(self) -> bool:
        """Count a failure; True when this one takes the upstream out."""
        self.failures += 1
        if self.healthy and self.failures >= FAILURES_TO_EJECT:
            self.healthy = False
            self.down_since = time.monotonic()
            return True
        return False

    def record_success(self) -> bool:
        """A success (a served request or a health check); True when it brings it back."""
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
    on_change: Callable[[Upstream], None] = field(default=lambda u: None)

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
        self.on_change(upstream)
        try:
            yield upstream
        finally:
            upstream.in_flight -= 1
            self.on_change(upstream)

    def failed(self, upstream: Upstream, why: str) -> None:
        if upstream.record_failure():
            log.warning("Upstream %s of %s is out of service: %s", upstream.url, self.model, why)
        self.on_change(upstream)

    def succeeded(self, upstream: Upstream) -> None:
        if upstream.record_success():
            log.warning("Upstream %s of %s is back in service", upstream.url, self.model)
        self.on_change(upstream)

    def healthy_count(self) -> int:
        return sum(u.healthy for u in self.upstreams)

    async def watch(self, probe: Callable[[Upstream], object], interval: float) -> None:
        """Check every upstream every ``interval`` seconds (``probe`` raises when it does
        not answer), until cancelled."""
        while True:
            await asyncio.gather(*(self._check(u, probe) for u in self.upstreams))
            await asyncio.sleep(interval)

    async def _check(self, upstream: Upstream, probe) -> None:
        try:
            await probe(upstream)
        except Exception as exc:
            if upstream.healthy:  # one missed check is enough when nobody else is asking
                upstream.failures = FAILURES_TO_EJECT - 1
            self.failed(upstream, f"health check: {type(exc).__name__}")
        else:
            self.succeeded(upstream)
