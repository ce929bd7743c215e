"""Jobs on PostgreSQL, with procrastinate: any number of workers on any number of machines.

Why procrastinate: it is a well-kept task library whose queue is PostgreSQL itself — the
database the cluster already runs and backs up — with LISTEN/NOTIFY for prompt pickup,
worker heartbeats and stalled-job retrieval; no broker to add (Celery would need Redis or
RabbitMQ, RQ Redis). Greffier's own jobs table keeps each job's state and progress; the
queue carries only the job id, as the in-process JobRunner does.

A worker killed mid-job (``kill -9``) stops sending heartbeats; every worker looks for
jobs whose worker has been silent for three heartbeats and starts them again. Starting
again is safe: an ingestion job indexes only its documents still pending, each in one
transaction (a document is indexed once, never half); a transcription replaces the
meeting's transcript whole.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from typing import TypeVar

import procrastinate

log = logging.getLogger(__name__)

TASK = "greffier.job"
QUEUE = "greffier"
T = TypeVar("T")


class PostgresQueue:
    """The JobQueue of a cluster: ``submit`` defers, :meth:`work` runs a worker."""

    def __init__(
        self,
        url: str,
        kind_of: Callable[[str], str | None],
        heartbeat_seconds: float = 5.0,
    ):
        self.url = url
        self.handlers: dict[str, Callable[[str], None]] = {}
        self._kind_of = kind_of
        self.heartbeat = heartbeat_seconds
        self._loop: asyncio.AbstractEventLoop | None = None
        # Deferring is synchronous (services run in threads); working is asynchronous.
        self._deferrer = procrastinate.App(
            connector=procrastinate.SyncPsycopgConnector(conninfo=url)
        )
        self._deferrer.task(name=TASK, queue=QUEUE)(self.run)
        self._opened = False

    def submit(self, job_id: str) -> None:
        if not self._opened:
            self._deferrer.open()
            self._opened = True
        self._deferrer.tasks[TASK].defer(job_id=job_id)

    def run(self, job_id: str) -> None:
        """Run one job by its kind's handler (in a worker thread)."""
        kind = self._kind_of(job_id)
        if kind is None:
            return  # deleted meanwhile
        handler = self.handlers.get(kind)
        if handler is None:
            raise ValueError(f"Job {job_id} is of an unknown kind '{kind}'.")
        handler(job_id)

    def run_async(self, coroutine: Coroutine[object, object, T]) -> T:
        """Run a job's coroutine on the worker's event loop (where the models live)."""
        if self._loop is not None and self._loop.is_running():
            return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()
        return asyncio.run(coroutine)

    async def work(self, *, name: str = "greffier", signals: bool = False) -> None:
        """Run a worker until cancelled (or, with ``signals``, until SIGINT/SIGTERM)."""
        self._loop = asyncio.get_running_loop()
        app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=self.url))
        app.task(name=TASK, queue=QUEUE)(self.run)
        async with app.open_async():
            rescuer = asyncio.create_task(self._restart_stalled(app), name="greffier-rescue")
            try:
                await app.run_worker_async(
                    queues=[QUEUE],
                    name=name,
                    concurrency=1,  # indexing and transcription fill the CPU: scale by process
                    update_heartbeat_interval=self.heartbeat,
                    stalled_worker_timeout=3 * self.heartbeat,
                    delete_jobs="successful",
                    install_signal_handlers=signals,
                )
            finally:
                rescuer.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await rescuer

    async def _restart_stalled(self, app: procrastinate.App) -> None:
        """Start again the jobs of workers silent for three heartbeats (killed, or their
        machine gone), now and then every heartbeat."""
        while True:
            try:
                stalled = await app.job_manager.get_stalled_jobs(
                    seconds_since_heartbeat=3 * self.heartbeat
                )
                for job in stalled:
                    log.warning("Job %s's worker is gone: starting it again", job.id)
                    await app.job_manager.retry_job(job)
            except Exception:  # the next round tries again; the worker must not stop
                log.exception("Looking for stalled jobs failed")
            await asyncio.sleep(self.heartbeat)

    def start(self, loop: asyncio.AbstractEventLoop) -> list[str]:
        """Run a worker inside this process (a server without separate workers). Jobs
        left by stopped workers are found by their silence, not resumed here."""
        self._task = loop.create_task(self.work(), name="greffier-worker")
        return []

    def check(self) -> str:
        """For /health/ready: "ok" when the queue's database answers."""
        try:
            if not self._opened:
                self._deferrer.open()
                self._opened = True
            return "ok" if self._deferrer.check_connection() else "unreachable"
        except Exception as exc:
            return f"unreachable: {type(exc).__name__}"

    def stop(self) -> None:
        task = getattr(self, "_task", None)
        if task is not None:
            task.cancel()
            self._task = None
        if self._opened:
            self._deferrer.close()
            self._opened = False
