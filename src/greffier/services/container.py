"""Builds the services of one Greffier process from its settings."""

from __future__ import annotations

from dataclasses import dataclass

from greffier.models.registry import ModelRegistry
from greffier.services.chat import ChatService
from greffier.services.documents import DocumentService
from greffier.services.identity import IdentityService
from greffier.services.jobs import JobRunner
from greffier.services.search import SearchService
from greffier.settings import Settings
from greffier.store.database import Database
from greffier.store.documents import DocumentStore
from greffier.store.identity import IdentityStore


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

    @classmethod
    def build(cls, settings: Settings) -> Services:
        database = Database(settings.database_path)
        registry = ModelRegistry(settings)
        store = DocumentStore(database)
        embedder = registry.embedding_backend(settings.embedding_model)
        documents = DocumentService(settings, store, embedder)
        return cls(
            settings=settings,
            database=database,
            registry=registry,
            identity=IdentityService(IdentityStore(database)),
            chat=ChatService(registry, settings.default_model),
            documents=documents,
            search=SearchService(store, embedder, settings.hybrid_lexical_weight),
            jobs=JobRunner(documents.run_job, lambda: [j["id"] for j in store.unfinished_jobs()]),
        )

    async def close(self) -> None:
        self.jobs.stop()
        await self.registry.close()
