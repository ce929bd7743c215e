"""Is this process ready to take requests? What a load balancer or an orchestrator asks
``/health/ready``: the database answers, the job queue answers, and every model the
settings name can be used (its file is here and checked, or an upstream server of it is
up)."""

from __future__ import annotations

from dataclasses import dataclass, field

from greffier.errors import GreffierError
from greffier.models import files
from greffier.models.registry import ModelRegistry
from greffier.settings import Settings


@dataclass
class Readiness:
    checks: dict[str, str] = field(default_factory=dict)  # what was checked: "ok" or why not

    @property
    def ready(self) -> bool:
        return all(v == "ok" for v in self.checks.values())


class HealthService:
    def __init__(self, settings: Settings, database, registry: ModelRegistry, queue):
        self.settings = settings
        self.database = database
        self.registry = registry
        self.queue = queue

    def readiness(self) -> Readiness:
        result = Readiness()
        try:
            self.database.scalar("SELECT 1")
            result.checks["database"] = "ok"
        except Exception as exc:
            result.checks["database"] = f"unreachable: {type(exc).__name__}"
        check = getattr(self.queue, "check", None)
        if check is not None:
            result.checks["queue"] = check()
        for model_id in (self.settings.default_model, self.settings.embedding_model):
            result.checks[f"model {model_id}"] = self._model(model_id)
        return result

    def _model(self, model_id: str) -> str:
        try:
            entry = self.registry.entry(model_id)
        except GreffierError as exc:
            return exc.message
        if not entry.has_file:
            backend = self.registry.running().get(model_id)
            healthy = getattr(backend, "healthy_upstreams", None)
            if healthy is not None and not healthy():
                return "no upstream server answers"
            return "ok"
        try:
            files.verify(self.settings.models_dir, entry)
        except GreffierError:
            return "its file is missing or does not match its checksum"
        return "ok"
