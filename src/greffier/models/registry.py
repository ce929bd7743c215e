"""The model registry: catalogue entries bound to running backends.

Backends are created on first use and kept for the life of the process; one backend
instance per catalogue entry, so its gate and counters are shared by every request.
"""

from __future__ import annotations

from greffier.errors import InvalidRequest
from greffier.models.backends.base import ChatBackend, EmbeddingBackend, SpeechBackend
from greffier.models.catalogue import Catalogue, ModelEntry, Role
from greffier.models.plugins import BackendRegistry, load_backends
from greffier.settings import Settings


class ModelRegistry:
    def __init__(
        self,
        settings: Settings,
        catalogue: Catalogue | None = None,
        backends: BackendRegistry | None = None,
    ):
        self.settings = settings
        self.catalogue = catalogue or Catalogue.load(settings.effective_catalogue_file)
        self.backends = backends or load_backends()
        self._instances: dict[str, ChatBackend] = {}
        self._embedders: dict[str, EmbeddingBackend] = {}
        self._speech: dict[str, SpeechBackend] = {}

    def entries(self, role: Role | None = None) -> list[ModelEntry]:
        return [e for e in self.catalogue if role is None or e.role == role]

    def entry(self, model_id: str) -> ModelEntry:
        return self.catalogue.get(model_id)

    def chat_backend(self, model_id: str) -> ChatBackend:
        """The backend serving ``model_id`` (created, not yet loaded, on first call)."""
        entry = self.catalogue.get(model_id)
        if entry.role != Role.chat:
            raise InvalidRequest(
                f"Model '{model_id}' is a {entry.role} model, not a chat model.", param="model"
            )
        backend = self._instances.get(model_id)
        if backend is None:
            backend = self.backends.get(entry.backend, "chat")(entry, self.settings)
            self._instances[model_id] = backend
        return backend

    def embedding_backend(self, model_id: str) -> EmbeddingBackend:
        """The backend embedding with ``model_id`` (created, not yet loaded, on first call)."""
        entry = self.catalogue.get(model_id)
        if entry.role != Role.embedding:
            raise InvalidRequest(
                f"Model '{model_id}' is a {entry.role} model, not an embedding model.",
                param="model",
            )
        backend = self._embedders.get(model_id)
        if backend is None:
            backend = self.backends.get(entry.backend, "embedding")(entry, self.settings)
            self._embedders[model_id] = backend
        return backend

    def speech_backend(self, model_id: str) -> SpeechBackend:
        """The backend transcribing with ``model_id`` (created, not loaded, on first call)."""
        entry = self.catalogue.get(model_id)
        if entry.role != Role.speech:
            raise InvalidRequest(
                f"Model '{model_id}' is a {entry.role} model, not a speech model.", param="model"
            )
        backend = self._speech.get(model_id)
        if backend is None:
            backend = self.backends.get(entry.backend, "speech")(entry, self.settings)
            self._speech[model_id] = backend
        return backend

    def running(self) -> dict[str, ChatBackend | EmbeddingBackend | SpeechBackend]:
        return {**self._instances, **self._embedders, **self._speech}

    async def close(self) -> None:
        for backend in self._instances.values():
            await backend.close()
        for embedder in [*self._embedders.values(), *self._speech.values()]:
            embedder.close()
        self._instances.clear()
        self._embedders.clear()
        self._speech.clear()
