"""Builds every service of one Greffier process from its settings: the one place where
stores, model registry, job queue and services are put together (the API, the web pages
and the CLI all take theirs from here)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from greffier.metrics import Metrics
from greffier.models.registry import ModelRegistry
from greffier.services.access import AccessService
from greffier.services.answer_evaluation import AnswerEvaluation
from greffier.services.answering import AnsweringService
from greffier.services.audit import AuditService
from greffier.services.bias import BiasService
from greffier.services.chat import ChatService
from greffier.services.conversations import ConversationService
from greffier.services.datasets import DatasetService
from greffier.services.documents import DocumentService
from greffier.services.embedding_space import EmbeddingSpace
from greffier.services.embeddings import EmbeddingService
from greffier.services.erasure import ErasureService
from greffier.services.feedback import FeedbackService
from greffier.services.finetuning import FinetuneService
from greffier.services.health import HealthService
from greffier.services.identity import IdentityService
from greffier.services.jobs import JobQueue, JobRunner, ManualQueue
from greffier.services.meetings import MeetingService
from greffier.services.minutes import MinutesService
from greffier.services.model_hub import ModelHubService
from greffier.services.model_reports import ModelReportService
from greffier.services.passages import PassageService
from greffier.services.quotas import QuotaService
from greffier.services.responses import ResponsesService
from greffier.services.search import SearchService
from greffier.services.sessions import SessionService
from greffier.services.speech_synthesis import SpeechSynthesisService
from greffier.services.throttle import SignInThrottle
from greffier.services.transcription import TranscriptionService
from greffier.services.usage import ParityTable, UsageService
from greffier.settings import Settings
from greffier.store.backends import Stores, open_stores

if TYPE_CHECKING:  # the PostgreSQL queue needs the `postgres` extra
    from greffier.services.postgres_queue import PostgresQueue


def parity_file(settings: Settings):
    """Where `greffier tokens report` leaves the parity it measured, for usage accounting."""
    return settings.data_dir / "tokens" / "parity.json"


@dataclass
class Services:
    settings: Settings
    stores: Stores
    registry: ModelRegistry
    queue: JobQueue  # where services hand their jobs
    # What runs jobs in this process (started with the server): the in-process runner
    # (SQLite), a queue worker (PostgreSQL), or None (the CLI runs its own; a server with
    # separate `greffier worker` processes).
    jobs: JobRunner | PostgresQueue | None
    identity: IdentityService
    access: AccessService
    audit: AuditService
    quotas: QuotaService
    erasure: ErasureService
    chat: ChatService
    answering: AnsweringService
    responses: ResponsesService
    feedback: FeedbackService
    datasets: DatasetService
    documents: DocumentService
    search: SearchService
    embeddings: EmbeddingService
    usage: UsageService
    transcription: TranscriptionService
    speech: SpeechSynthesisService
    meetings: MeetingService
    minutes: MinutesService
    passages: PassageService
    sessions: SessionService
    conversations: ConversationService
    reports: ModelReportService
    bias: BiasService
    answer_evaluation: AnswerEvaluation
    metrics: Metrics
    health: HealthService
    hub: ModelHubService
    finetuning: FinetuneService

    @property
    def database(self):
        return self.stores.database

    @classmethod
    def build(cls, settings: Settings, *, run_jobs: bool = True) -> Services:
        """``run_jobs``: a server or a worker, whose jobs go to a queue; False for the CLI,
        which runs the jobs it submits itself, with a progress bar."""
        stores = open_stores(settings)
        database = stores.database
        metrics = Metrics()
        registry = ModelRegistry(settings)
        document_store = stores.documents
        job_store = stores.jobs
        identity_store = stores.identity
        access_store = stores.access
        quota_store = stores.quotas
        session_store = stores.sessions

        def kind_of(job_id: str) -> str | None:
            job = job_store.get(job_id)
            return job.kind if job else None

        queue: JobQueue
        runner: JobRunner | PostgresQueue | None = None
        if not run_jobs:
            queue = ManualQueue()
        elif settings.database_url:
            from greffier.services.postgres_queue import PostgresQueue

            queue = PostgresQueue(settings.database_url, kind_of, settings.worker_heartbeat_seconds)
            runner = queue if settings.run_worker else None
        elif settings.run_worker:
            queue = runner = JobRunner({}, kind_of, lambda: [j.id for j in job_store.unfinished()])
        else:
            queue = ManualQueue()  # jobs wait in the database for the next server with a worker

        audit = AuditService(stores.audit)
        identity = IdentityService(
            identity_store, session_store, audit, stores.credentials, access_store
        )
        throttle = SignInThrottle(stores.counters, settings)
        quotas = QuotaService(
            quota_store, access_store, identity_store, stores.counters, audit, database.write
        )
        access = AccessService(
            access_store,
            identity_store,
            audit,
            settings.on_premises_max_sensitivity,
            settings.external_max_sensitivity,
        )
        embedder = registry.embedding_backend(settings.embedding_model)
        space = EmbeddingSpace(document_store, settings.embedding_model, embedder)
        documents = DocumentService(
            settings,
            document_store,
            job_store,
            queue,
            embedder,
            access,
            audit,
            database.write,
            space,
        )
        search = SearchService(
            document_store, embedder, access, audit, settings.hybrid_lexical_weight, space
        )
        usage = UsageService(stores.usage, ParityTable(parity_file(settings)))
        chat = ChatService(registry, settings.default_model, usage, quotas, metrics)
        floor = settings.grounding_min_similarity
        if floor is None:
            floor = registry.catalogue.get(settings.embedding_model).relevance_floor
        answering = AnsweringService(
            chat,
            access,
            search,
            audit,
            relevance_floor=floor,
            answers=stores.feedback,
            answer_days=settings.answer_days,
            instructions=settings.grounding_instructions,
        )
        response_store = stores.responses
        transcription = TranscriptionService(registry, settings)
        meetings = MeetingService(
            settings,
            stores.meetings,
            job_store,
            queue,
            transcription,
            documents,
            access,
            audit,
            database.write,
        )
        minutes = MinutesService(settings, meetings, chat, access, job_store, queue, audit)
        if not isinstance(queue, ManualQueue):
            worker = queue  # a queue whose workers run jobs knows every kind's handler
            worker.handlers.update(
                ingest=documents.run_job,
                meeting=meetings.run_job,
                minutes=lambda job_id: minutes.run_job(job_id, worker.run_async),
            )
        feedback = FeedbackService(
            stores.feedback, response_store, access, audit, settings.curators_group
        )
        reports = ModelReportService(
            registry, stores.evaluations, usage.parity, settings.models_dir
        )
        return cls(
            settings=settings,
            stores=stores,
            registry=registry,
            queue=queue,
            jobs=runner,
            identity=identity,
            access=access,
            audit=audit,
            quotas=quotas,
            erasure=ErasureService(
                stores.erasure,
                identity,
                documents,
                meetings,
                job_store,
                quota_store,
                audit,
                response_store,
                throttle,
                stores.feedback,
            ),
            chat=chat,
            answering=answering,
            responses=ResponsesService(answering, response_store),
            feedback=feedback,
            datasets=DatasetService(feedback, chat, search, document_store, audit),
            documents=documents,
            search=search,
            embeddings=EmbeddingService(
                registry, settings.embedding_model, settings.data_dir / "tokenizers"
            ),
            usage=usage,
            transcription=transcription,
            speech=SpeechSynthesisService(
                registry, settings, access, audit, meetings, minutes, usage, quotas
            ),
            meetings=meetings,
            minutes=minutes,
            passages=PassageService(documents, meetings, audit),
            sessions=SessionService(session_store, identity, settings.web_session_hours, throttle),
            conversations=ConversationService(stores.conversations),
            reports=reports,
            bias=BiasService(registry, reports, settings.default_model),
            answer_evaluation=AnswerEvaluation(answering),
            metrics=metrics,
            health=HealthService(settings, database, registry, queue),
            hub=ModelHubService(settings, registry),
            finetuning=FinetuneService(settings, registry, audit),
        )._watched()

    def _watched(self) -> Services:
        """Gauges read when Prometheus scrapes: jobs by state, each model's load."""
        self.metrics.watch(
            "greffier_jobs",
            "Background jobs by state (queued: the queue's depth).",
            ["state"],
            lambda: self.stores.jobs.count_by_status().items(),
        )

        def load():
            for model_id, backend in self.registry.running().items():
                yield model_id, "active", backend.stats.active
                yield model_id, "waiting", backend.stats.waiting

        self.metrics.watch(
            "greffier_model_requests",
            "Requests a model is answering or waiting for.",
            ["model", "state"],
            load,
        )

        def upstreams(field):
            def read():
                for model_id, backend in self.registry.running().items():
                    pool = getattr(backend, "pool", None)
                    for upstream in pool.upstreams if pool is not None else ():
                        yield model_id, upstream.url, field(upstream)

            return read

        for name, documentation, field, kind in (
            (
                "greffier_upstream_up",
                "1 while an upstream model server is in service.",
                lambda u: int(u.healthy),
                "gauge",
            ),
            (
                "greffier_upstream_in_flight",
                "Requests an upstream server is answering.",
                lambda u: u.in_flight,
                "gauge",
            ),
            (
                "greffier_upstream_requests",
                "Requests an upstream server began to answer.",
                lambda u: u.served,
                "counter",
            ),
            (
                "greffier_upstream_failures",
                "Calls and health checks of an upstream server "
                "that failed (a call failing before its first token is tried on another).",
                lambda u: u.failed,
                "counter",
            ),
        ):
            self.metrics.watch(name, documentation, ["model", "upstream"], upstreams(field), kind)
        return self

    async def close(self) -> None:
        if self.jobs is not None:
            self.jobs.stop()
        if self.queue is not self.jobs and not isinstance(self.queue, ManualQueue):
            self.queue.stop()  # a PostgreSQL queue used to submit only: its connections
        await self.registry.close()
        close = getattr(self.stores.database, "close", None)
        if close is not None:
            close()
