"""The model registry: catalogue entries bound to running backends.

Backends are created on first use and kept for the life of the process; one backend
instance per catalogue entry, so its gate and counters are shared by every request.
"""

from __future__ import annotations

import threading

from greffier.errors import InvalidRequest
from greffier.models.backends.base import (
    Backend,
    ChatBackend,
    EmbeddingBackend,
    SpeakerBackend,
    SpeechBackend,
    SpeechSynthesisBackend,
)
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
        # One instance per catalogue entry, created on first use (not loaded yet).
        self._instances: dict[str, Backend] = {}
        self._creating = threading.Lock()

    def entries(self, role: Role | None = None) -> list[ModelEntry]:
        return [e for e in self.catalogue if role is None or e.role == role]

    def entry(self, model_id: str) -> ModelEntry:
        return self.catalogue.get(model_id)

    def _backend(self, model_id: str, role: Role):
        entry = self.catalogue.get(model_id)
        if entry.role != role:
            raise InvalidRequest(
                f"Model '{model_id}' is a {entry.role} model, not a {role} model.", param="model"
            )
        backend = self._instances.get(model_id)
        if backend is None:
            # Requests arrive on several threads at once: one instance per entry (two would
            # load a model twice, or split an upstream pool's counts).
            with self._creating:
                backend = self._instances.get(model_id)
                if backend is None:
                    backend = self.backends.get(entry.backend, role.value)(entry, self.settings)
                    self._instances[model_id] = backend
        return backend

    def chat_backend(self, model_id: str) -> ChatBackend:
        """The backend serving ``model_id``."""
        return self._backend(model_id, Role.chat)

    def embedding_backend(self, model_id: str) -> EmbeddingBackend:
        """The backend embedding with ``model_id``."""
        return self._backend(model_id, Role.embedding)

    def speech_backend(self, model_id: str) -> SpeechBackend:
        """The backend transcribing with ``model_id``."""
        return self._backend(model_id, Role.speech)

    def speaker_backend(self, model_id: str) -> SpeakerBackend:
        """The backend telling voices apart with ``model_id``."""
        return self._backend(model_id, Role.speaker)

    def voice_backend(self, model_id: str) -> SpeechSynthesisBackend:
        """The backend speaking with ``model_id``."""
        return self._backend(model_id, Role.voice)

    def running(self) -> dict[str, Backend]:
        return dict(self._instances)

    async def close(self) -> None:
        for backend in self._instances.values():
            if isinstance(backend, ChatBackend):
                await backend.close()  # async: it may wait for a generation to stop
            else:
                backend.close()
        self._instances.clear()
