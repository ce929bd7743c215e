"""Background jobs: one worker thread runs queued jobs in order.

Job state lives in the database, not in this object: on start, jobs left 'queued' or
'running' by a stopped process are picked up again, and since each document is indexed in
one transaction, resuming only redoes the documents still 'pending'.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)

_STOP = object()


class JobRunner:
    def __init__(self, run: Callable[[str], None], unfinished: Callable[[], list[str]]):
        self._run = run
        self._unfinished = unfinished
        self._queue: queue.Queue = queue.Queue()
        self._thread: threading.Thread | None = None

    def start(self) -> list[str]:
        """Start the worker and queue the jobs a previous process left unfinished."""
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

    def _work(self) -> None:
        while (job_id := self._queue.get()) is not _STOP:
            try:
                self._run(job_id)
            except Exception:  # already recorded on the job by the runner
                log.exception("Job %s failed", job_id)
