"""Serialised access to a model that is not thread-safe, with a bounded wait queue.

One request runs at a time; up to ``queue_size`` more wait their turn; beyond that the
request is refused at once with :class:`~greffier.errors.ModelBusy` (HTTP 429) carrying a
``Retry-After`` estimate from recent run times. The slot is released by the worker thread's
completion, not by the awaiting coroutine: a client that disconnects cancels its coroutine
at once, but the model stays locked until the thread that uses it has really stopped.
"""

from __future__ import annotations

import asyncio
import math
import time

from greffier.errors import ModelBusy
from greffier.models.backends.base import BackendStats


class Gate:
    def __init__(self, name: str, queue_size: int, stats: BackendStats):
        self._name = name
        self._queue_size = queue_size
        self._stats = stats
        self._lock = asyncio.Lock()
        self._recent: list[float] = []  # durations of the last runs, seconds

    def _retry_after(self) -> int:
        average = sum(self._recent) / len(self._recent) if self._recent else 5.0
        return max(1, math.ceil(average * (self._stats.waiting + 1)))

    async def acquire(self) -> float:
        """Wait for the model; return the start time to pass to :meth:`release`."""
        if self._lock.locked() and self._stats.waiting >= self._queue_size:
            raise ModelBusy(
                f"Model '{self._name}' is busy: {self._stats.waiting} request(s) already "
                f"waiting. Retry later.",
                retry_after=self._retry_after(),
            )
        self._stats.waiting += 1
        try:
            await self._lock.acquire()
        finally:
            self._stats.waiting -= 1
        self._stats.active += 1
        return time.monotonic()

    def release(self, started: float) -> None:
        """Free the model. Must be called on the event loop thread."""
        self._recent = [*self._recent[-9:], time.monotonic() - started]
        self._stats.active -= 1
        self._lock.release()
