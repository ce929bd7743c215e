"""Builds the services of one Greffier process from its settings."""

from __future__ import annotations

from dataclasses import dataclass

from greffier.models.registry import ModelRegistry
from greffier.services.access import AccessService
from greffier.services.audit import AuditService
from greffier.services.chat import ChatService
from greffier.services.documents import DocumentService
from greffier.services.erasure import ErasureService
from greffier.services.identity import IdentityService
from greffier.services.jobs import JobRunner
from greffier.services.meetings import MeetingService
from greffier.services.quotas import QuotaService
from greffier.services.search import SearchService
from greffier.services.transcription import TranscriptionService
from greffier.services.usage import ParityTable, UsageService
from greffier.settings import Settings
from greffier.store.access import AccessStore
from greffier.store.audit import AuditStore
from greffier.store.database import Database
from greffier.store.documents import DocumentStore
from greffier.store.erasure import ErasureStore
from greffier.store.identity import IdentityStore
from greffier.store.meetings import MeetingStore
from greffier.store.quotas import QuotaStore
from greffier.store.usage import UsageStore


def parity_file(settings: Settings):
    """Where `greffier tokens report` leaves the parity it measured, for usage accounting."""
    return settings.data_dir / "tokens" / "parity.json"


@dataclass
class Services:
    settings: Settings
    database: Database
    registry: ModelRegistry
    identity: IdentityService
    access: AccessService
    audit: AuditService
    quotas: QuotaService
    erasure: ErasureService
    chat: ChatService
    documents: DocumentService
    search: SearchService
    jobs: JobRunner
    usage: UsageService
    transcription: TranscriptionService
    meetings: MeetingService

    @classmethod
    def build(cls, settings: Settings) -> Services:
        database = Database(settings.database_path)
        registry = ModelRegistry(settings)
        store = DocumentStore(database)
        identity = IdentityStore(database)
        access_store = AccessStore(database)
        quota_store = QuotaStore(database)
        quotas = QuotaService(quota_store, access_store, identity)
        access = AccessService(
            access_store,
            identity,
            settings.on_premises_max_sensitivity,
            settings.external_max_sensitivity,
        )
        embedder = registry.embedding_backend(settings.embedding_model)
        documents = DocumentService(settings, store, embedder, access)
        usage = UsageService(UsageStore(database), ParityTable(parity_file(settings)))
        transcription = TranscriptionService(registry, settings)
        meetings = MeetingService(
            settings, MeetingStore(database), transcription, documents, access
        )

        def kind_of(job_id: str) -> str | None:
            job = store.job(job_id)
            return job["kind"] if job is not None else None

        chat = ChatService(registry, settings.default_model, usage, quotas)
        jobs = JobRunner(
            {
                "ingest": documents.run_job,
                "meeting": meetings.run_job,
                "minutes": lambda job_id: meetings.run_minutes_job(job_id, chat, jobs.run_async),
            },
            kind_of,
            lambda: [j["id"] for j in store.unfinished_jobs()],
        )
        identity_service = IdentityService(identity)
        audit = AuditService(AuditStore(database))
        return cls(
            settings=settings,
            database=database,
            registry=registry,
            identity=identity_service,
            access=access,
            audit=audit,
            quotas=quotas,
            erasure=ErasureService(
                ErasureStore(database), identity_service, documents, meetings, quota_store, audit
            ),
            chat=chat,
            documents=documents,
            search=SearchService(store, embedder, settings.hybrid_lexical_weight),
            jobs=jobs,
            usage=usage,
            transcription=transcription,
            meetings=meetings,
        )

    async def close(self) -> None:
        self.jobs.stop()
        await self.registry.close()
