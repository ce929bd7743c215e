"""Builds the services of one Greffier process from its settings."""

from __future__ import annotations

from dataclasses import dataclass

from greffier.models.registry import ModelRegistry
from greffier.services.chat import ChatService
from greffier.services.identity import IdentityService
from greffier.settings import Settings
from greffier.store.database import Database
from greffier.store.identity import IdentityStore


@dataclass
class Services:
    settings: Settings
    database: Database
    registry: ModelRegistry
    identity: IdentityService
    chat: ChatService

    @classmethod
    def build(cls, settings: Settings) -> Services:
        database = Database(settings.database_path)
        registry = ModelRegistry(settings)
        return cls(
            settings=settings,
            database=database,
            registry=registry,
            identity=IdentityService(IdentityStore(database)),
            chat=ChatService(registry, settings.default_model),
        )

    async def close(self) -> None:
        await self.registry.close()
