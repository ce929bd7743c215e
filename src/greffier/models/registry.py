"""The model registry: catalogue entries bound to running backends.

Backends are created on first use and kept for the life of the process; one backend
instance per catalogue entry, so its gate and counters are shared by every request.
"""

from __future__ import annotations

import logging
import threading
from importlib.util import find_spec

from greffier.errors import InvalidRequest, ModelFileError, ModelNotReady
from greffier.models import files
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

log = logging.getLogger(__name__)


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

    def missing(self, entry: ModelEntry) -> str | None:
        """What keeps this server from serving ``entry`` now, for its operator (a path, a
        package); None when it is ready. Files are checked for presence only: checksums
        are checked when a model loads."""
        try:
            backend = self.backends.get(entry.backend, entry.role.value)
        except Exception as exc:  # an unknown backend: the catalogue names a missing plugin
            return str(exc)
        absent = [m for m in getattr(backend, "runtime_modules", ()) if find_spec(m) is None]
        if absent:
            return f"Its backend '{entry.backend}' needs the Python module(s) {', '.join(absent)}."
        if entry.has_file:
            try:
                path = files.model_path(self.settings.models_dir, entry)
            except ModelFileError as exc:
                return exc.message
            if not path.is_file():
                return f"Its file {path} is missing: run `greffier models pull {entry.id}`."
        if entry.adapter is not None and not entry.adapter.path.expanduser().is_file():
            return f"Its adapter {entry.adapter.path} is missing."
        return None

    def ready(self, entry: ModelEntry) -> bool:
        return self.missing(entry) is None

    def require_ready(self, model_id: str) -> ModelEntry:
        """The entry of a model a person chose; ModelNotReady (the fix logged for the
        operator, not shown to the person) when this server cannot serve it."""
        entry = self.catalogue.get(model_id)
        if (missing := self.missing(entry)) is not None:
            log.warning("Model %s was asked for but is not ready. %s", model_id, missing)
            raise ModelNotReady(
                f"Model '{model_id}' is not installed on this server. Choose one that "
                "GET /v1/models lists, or ask the server's administrator to install it.",
                detail=missing,
            )
        return entry

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
