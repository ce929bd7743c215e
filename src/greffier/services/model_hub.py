"""This instance as a model hub for other nodes: its ready models, with their catalogue
entries, openness cards and checksummed files, read-only, for admins' keys (a node pulling
from a central instance uses an admin key of that instance: a fine-tuned model may have
learnt from an organisation's own documents)."""

from __future__ import annotations

from pathlib import Path

from greffier.errors import NotFound, PermissionDenied
from greffier.models import distribution
from greffier.models.registry import ModelRegistry
from greffier.services.principal import Principal
from greffier.settings import Settings


class ModelHubService:
    def __init__(self, settings: Settings, registry: ModelRegistry):
        self.settings = settings
        self.registry = registry

    def manifest(self, who: Principal) -> list[dict]:
        _admin(who)
        return distribution.manifest(self.settings.models_dir, self.registry.entries())

    def file(self, who: Principal, model_id: str, name: str) -> Path:
        _admin(who)
        entry = self.registry.entry(model_id)
        for model_file, path in distribution.local_files(self.settings.models_dir, entry):
            if model_file.name == name:
                return path
        raise NotFound(f"Model '{model_id}' has no file '{name}' here.", param="name")


def _admin(who: Principal) -> None:
    if not who.is_admin:
        raise PermissionDenied("Model files are served to admins' keys.", code="admin_only")
