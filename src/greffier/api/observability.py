"""Counting every HTTP request for ``/metrics``: route template, method, status, time.

Pure ASGI, so streamed answers pass through untouched and are timed to their last byte.
The route is the template ("/v1/documents/{document_id}"), never the raw path: ids in
paths would make a new series per document.
"""

from __future__ import annotations

import time

from greffier.metrics import Metrics


class RequestMetrics:
    def __init__(self, app, metrics: Metrics):
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        status = 500

        async def counting_send(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, counting_send)
        finally:
            route = scope.get("route")
            template = getattr(route, "path_format", None) or getattr(route, "path", None)
            template = template or "unmatched"
            method = scope["method"]
            self.metrics.requests.labels(template, method, str(status)).inc()
            self.metrics.latency.labels(template, method).observe(time.perf_counter() - started)
