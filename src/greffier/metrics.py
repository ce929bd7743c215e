"""What one Greffier process counts for Prometheus (``GET /metrics``).

One registry per process (each API replica and worker is scraped on its own): requests by
route and status with their latency, time to first token, tokens and energy per model,
quota refusals, upstream servers' health and load. Gauges that are facts of the moment —
jobs by state, a model's requests running and waiting — are read when Prometheus scrapes,
through :meth:`Metrics.watch`. This module knows no HTTP framework and no database.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Seconds, from a cached page to a long answer on a CPU.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)
FIRST_TOKEN_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30)


class _Watched(Collector):
    def __init__(self, name: str, documentation: str, labels: Sequence[str], read, kind: str):
        self.name, self.documentation, self.labels, self.read = name, documentation, labels, read
        self.family = CounterMetricFamily if kind == "counter" else GaugeMetricFamily

    def collect(self):
        family = self.family(self.name, self.documentation, labels=list(self.labels))
        try:
            for *values, number in self.read():
                family.add_metric([str(v) for v in values], float(number))
        except Exception:  # a scrape must not fail because one source is down
            log.warning("Metric %s could not be read", self.name, exc_info=True)
        yield family


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "greffier_http_requests",
            "HTTP requests answered, by route template, method and status.",
            ["route", "method", "status"],
            registry=r,
        )
        self.latency = Histogram(
            "greffier_http_request_seconds",
            "Time to answer an HTTP request (a stream: until its last byte).",
            ["route", "method"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.first_token = Histogram(
            "greffier_time_to_first_token_seconds",
            "Time from a generation's start to its first piece of text, by model.",
            ["model"],
            buckets=FIRST_TOKEN_BUCKETS,
            registry=r,
        )
        self.tokens = Counter(
            "greffier_tokens",
            "Tokens in (prompt) and out (completion), by model.",
            ["model", "kind"],
            registry=r,
        )
        self.energy = Counter(
            "greffier_energy_joules",
            "Estimated energy of generations, by model.",
            ["model"],
            registry=r,
        )
        self.quota_refusals = Counter(
            "greffier_quota_refusals",
            "Requests refused because a quota was used up.",
            registry=r,
        )

    def watch(
        self,
        name: str,
        documentation: str,
        labels: Sequence[str],
        read: Callable[[], Iterable[tuple]],
        kind: str = "gauge",
    ) -> None:
        """A gauge (or a counter kept elsewhere) read at scrape time: ``read()`` yields
        (label values…, number)."""
        self.registry.register(_Watched(name, documentation, labels, read, kind))

    def render(self) -> bytes:
        return generate_latest(self.registry)
