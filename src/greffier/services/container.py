"""Builds every service of one Greffier process from its settings: the one place where
stores, model registry, job queue and services are put together (the API, the web pages
and the CLI all take theirs from here)."""

from __future__ import annotations

from dataclasses import dataclass

from greffier.models.registry import ModelRegistry
from greffier.services.access import AccessService
from greffier.services.answering import AnsweringService
from greffier.services.audit import AuditService
from greffier.services.chat import ChatService
from greffier.services.conversations import ConversationService
from greffier.services.documents import DocumentService
from greffier.services.embeddings import EmbeddingService
from greffier.services.erasure import ErasureService
from greffier.services.identity import IdentityService
from greffier.services.jobs import JobQueue, JobRunner, ManualQueue
from greffier.services.meetings import MeetingService
from greffier.services.minutes import MinutesService
from greffier.services.passages import PassageService
from greffier.services.quotas import QuotaService
from greffier.services.search import SearchService
from greffier.services.sessions import SessionService
from greffier.services.transcription import TranscriptionService
from greffier.services.usage import ParityTable, UsageService
from greffier.settings import Settings
from greffier.store.access import AccessStore
from greffier.store.audit import AuditStore
from greffier.store.conversations import ConversationStore
from greffier.store.database import Database
from greffier.store.documents import DocumentStore
from greffier.store.erasure import ErasureStore
from greffier.store.identity import IdentityStore
from greffier.store.jobs import JobStore
from greffier.store.meetings import MeetingStore
from greffier.store.quotas import QuotaStore
from greffier.store.sessions import SessionStore
from greffier.store.usage import UsageStore


def parity_file(settings: Settings):
    """Where `greffier tokens report` leaves the parity it measured, for usage accounting."""
    return settings.data_dir / "tokens" / "parity.json"


@dataclass
class Services:
    settings: Settings
    database: Database
    registry: ModelRegistry
    jobs: JobRunner | None  # the in-process runner; None where the caller runs jobs (CLI)
    identity: IdentityService
    access: AccessService
    audit: AuditService
    quotas: QuotaService
    erasure: ErasureService
    chat: ChatService
    answering: AnsweringService
    documents: DocumentService
    search: SearchService
    embeddings: EmbeddingService
    usage: UsageService
    transcription: TranscriptionService
    meetings: MeetingService
    minutes: MinutesService
    passages: PassageService
    sessions: SessionService
    conversations: ConversationService

    @classmethod
    def build(cls, settings: Settings, *, run_jobs: bool = True) -> Services:
        """``run_jobs``: queue jobs to an in-process worker (a server); False for the CLI,
        which runs the jobs it submits itself, with a progress bar."""
        database = Database(settings.database_path)
        registry = ModelRegistry(settings)
        document_store = DocumentStore(database)
        job_store = JobStore(database)
        identity_store = IdentityStore(database)
        access_store = AccessStore(database)
        quota_store = QuotaStore(database)
        session_store = SessionStore(database)
        runner = (
            JobRunner(
                {},
                lambda job_id: job.kind if (job := job_store.get(job_id)) else None,
                lambda: [job.id for job in job_store.unfinished()],
            )
            if run_jobs
            else None
        )
        queue: JobQueue = runner or ManualQueue()

        audit = AuditService(AuditStore(database))
        identity = IdentityService(identity_store, session_store, audit)
        quotas = QuotaService(quota_store, access_store, identity_store)
        access = AccessService(
            access_store,
            identity_store,
            audit,
            settings.on_premises_max_sensitivity,
            settings.external_max_sensitivity,
        )
        embedder = registry.embedding_backend(settings.embedding_model)
        documents = DocumentService(
            settings,
            document_store,
            job_store,
            queue,
            embedder,
            access,
            audit,
            database.write,
        )
        search = SearchService(
            document_store, embedder, access, audit, settings.hybrid_lexical_weight
        )
        usage = UsageService(UsageStore(database), ParityTable(parity_file(settings)))
        chat = ChatService(registry, settings.default_model, usage, quotas)
        transcription = TranscriptionService(registry, settings)
        meetings = MeetingService(
            settings,
            MeetingStore(database),
            job_store,
            queue,
            transcription,
            documents,
            access,
            audit,
            database.write,
        )
        minutes = MinutesService(settings, meetings, chat, access, job_store, queue)
        if runner is not None:
            runner.handlers.update(
                ingest=documents.run_job,
                meeting=meetings.run_job,
                minutes=lambda job_id: minutes.run_job(job_id, runner.run_async),
            )
        return cls(
            settings=settings,
            database=database,
            registry=registry,
            jobs=runner,
            identity=identity,
            access=access,
            audit=audit,
            quotas=quotas,
            erasure=ErasureService(
                ErasureStore(database),
                identity,
                documents,
                meetings,
                job_store,
                quota_store,
                audit,
            ),
            chat=chat,
            answering=AnsweringService(chat, access, search, audit),
            documents=documents,
            search=search,
            embeddings=EmbeddingService(registry),
            usage=usage,
            transcription=transcription,
            meetings=meetings,
            minutes=minutes,
            passages=PassageService(documents, meetings, audit),
            sessions=SessionService(session_store, identity, settings.web_session_hours),
            conversations=ConversationService(ConversationStore(database)),
        )

    async def close(self) -> None:
        if self.jobs is not None:
            self.jobs.stop()
        await self.registry.close()
