"""Background jobs: the queue services hand their jobs to, and the in-process runner.

A service that starts long work (indexing an upload, transcribing a recording, writing
minutes) records the job in the jobs table (store/jobs.py) and calls
:meth:`JobQueue.submit` with its id: the state lives in the database, the queue carries
ids. Two queues implement that interface here:

- :class:`JobRunner`, the default: one worker thread in the server's process runs queued
  jobs in order, each by its kind's handler. On start it picks up the jobs a stopped
  process left 'queued' or 'running'; since each document is indexed in one transaction,
  resuming only redoes the documents still 'pending'.
- :class:`ManualQueue`, for the CLI: a job waits for its submitter to run it (``greffier
  ingest`` runs it at once and shows its progress).

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
from typing import Protocol, TypeVar

log = logging.getLogger(__name__)

_STOP = object()
T = TypeVar("T")


class JobQueue(Protocol):
    def submit(self, job_id: str) -> None:
        """Hand over a job already recorded in the jobs table."""


class ManualQueue:
    """Jobs are run by whoever submitted them (the CLI); an unfinished one is picked up by
    the next server that starts."""

    def submit(self, job_id: str) -> None:
        log.debug("Job %s left for its submitter to run", job_id)


class JobRunner:
    def __init__(
        self,
        handlers: Mapping[str, Callable[[str], None]],
        kind_of: Callable[[str], str | None],
        unfinished: Callable[[], list[str]],
    ):
        """``kind_of(job_id)``: the job's kind, None once deleted; ``unfinished()``: the
        ids of the jobs left queued or running (both read the jobs table)."""
        self.handlers = dict(handlers)  # kind → handler(job_id)
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

    def check(self) -> str:
        """For /health/ready: "ok" while the worker thread runs."""
        return "ok" if self._thread is not None and self._thread.is_alive() else "not running"

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
        handler = self.handlers.get(kind)
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
