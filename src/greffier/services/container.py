"""Builds the services of one Greffier process from its settings."""

from __future__ import annotations

from dataclasses import dataclass

from greffier.models.registry import ModelRegistry
from greffier.services.chat import ChatService
from greffier.services.documents import DocumentService
from greffier.services.identity import IdentityService
from greffier.services.jobs import JobRunner
from greffier.services.meetings import MeetingService
from greffier.services.search import SearchService
from greffier.services.transcription import TranscriptionService
from greffier.services.usage import ParityTable, UsageService
from greffier.settings import Settings
from greffier.store.database import Database
from greffier.store.documents import DocumentStore
from greffier.store.identity import IdentityStore
from greffier.store.meetings import MeetingStore
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
        embedder = registry.embedding_backend(settings.embedding_model)
        documents = DocumentService(settings, store, embedder)
        usage = UsageService(UsageStore(database), ParityTable(parity_file(settings)))
        transcription = TranscriptionService(registry, settings)
        meetings = MeetingService(settings, MeetingStore(database), transcription, documents)

        def run_job(job_id: str) -> None:
            job = store.job(job_id)
            if job is not None:
                (meetings.run_job if job["kind"] == "meeting" else documents.run_job)(job_id)

        return cls(
            settings=settings,
            database=database,
            registry=registry,
            identity=IdentityService(IdentityStore(database)),
            chat=ChatService(registry, settings.default_model, usage),
            documents=documents,
            search=SearchService(store, embedder, settings.hybrid_lexical_weight),
            jobs=JobRunner(run_job, lambda: [j["id"] for j in store.unfinished_jobs()]),
            usage=usage,
            transcription=transcription,
            meetings=meetings,
        )

    async def close(self) -> None:
        self.jobs.stop()
        await self.registry.close()
