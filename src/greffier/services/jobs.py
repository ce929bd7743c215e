"""Background jobs: one worker thread runs queued jobs in order, each by its kind's handler.

Job state lives in the database, not in this object: on start, jobs left 'queued' or
'running' by a stopped process are picked up again, and since each document is indexed in
one transaction, resuming only redoes the documents still 'pending'.

Kinds: ``ingest`` (documents), ``meeting`` (transcription and speakers), ``minutes`` (the
chat model writes a meeting's minutes). A handler that needs the chat model runs its
coroutine through :meth:`JobRunner.run_async`, on the server's event loop when there is
one: the models' gates (asyncio locks) belong to that loop.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable, Coroutine, Mapping
from typing import TypeVar

log = logging.getLogger(__name__)

_STOP = object()
T = TypeVar("T")


class JobRunner:
    def __init__(
        self,
        handlers: Mapping[str, Callable[[str], None]],
        kind_of: Callable[[str], str | None],
        unfinished: Callable[[], list[str]],
    ):
        self._handlers = dict(handlers)
        self._kind_of = kind_of
        self._unfinished = unfinished
        self._queue: queue.Queue = queue.Queue()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self, loop: asyncio.AbstractEventLoop | None = None) -> list[str]:
        """Start the worker and queue the jobs a previous process left unfinished. ``loop``:
        the server's event loop, where :meth:`run_async` runs coroutines."""
        self._loop = loop
        resumed = self._unfinished()
        for job_id in resumed:
            log.info("Resuming job %s", job_id)
            self._queue.put(job_id)
        self._thread = threading.Thread(target=self._work, name="greffier-jobs", daemon=True)
        self._thread.start()
        return resumed

    def submit(self, job_id: str) -> None:
        self._queue.put(job_id)

    def stop(self, timeout: float = 30) -> None:
        if self._thread is not None:
            self._queue.put(_STOP)
            self._thread.join(timeout)
            self._thread = None

    def run(self, job_id: str) -> None:
        """Run one job now, in this thread, by its kind (the worker, or the CLI)."""
        kind = self._kind_of(job_id)
        if kind is None:
            return  # deleted meanwhile
        handler = self._handlers.get(kind)
        if handler is None:
            raise ValueError(f"Job {job_id} is of an unknown kind '{kind}'.")
        handler(job_id)

    def run_async(self, coroutine: Coroutine[object, object, T]) -> T:
        """Run a job's coroutine to its end from the worker thread (blocking)."""
        if self._loop is not None and self._loop.is_running():
            return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()
        return asyncio.run(coroutine)

    def _work(self) -> None:
        while (job_id := self._queue.get()) is not _STOP:
            try:
                self.run(job_id)
            except Exception:  # already recorded on the job by its handler
                log.exception("Job %s failed", job_id)
