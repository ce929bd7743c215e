"""The model report card: per model, on the operator's own machine and data — openness and
licence (catalogue), French token parity (`greffier tokens report`), bias with its
interval (`eval bias`), answer quality, latency and energy per answer (`eval answers`).

Each result is stored with the date, the data set (name and SHA-256), the Greffier
version and the model file's SHA-256 (with its LoRA adapter's, for a fine-tuned model) that
produced it. A result is *stale* when the model file, its adapter or Greffier's version has
changed since, or when it is older than ``STALE_DAYS``:
the card still shows it, and says why it may no longer hold.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from greffier import __version__
from greffier.models.cards import model_card
from greffier.models.catalogue import Role
from greffier.models.registry import ModelRegistry
from greffier.services.usage import ParityTable
from greffier.store.interfaces import EvaluationStore
from greffier.store.records import EvaluationRecord

STALE_DAYS = 180


def digest(paths: Sequence[Path]) -> str:
    """One SHA-256 over the files' contents, in order."""
    h = hashlib.sha256()
    for path in paths:
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()


class ModelReportService:
    def __init__(
        self,
        registry: ModelRegistry,
        store: EvaluationStore,
        parity: ParityTable,
        models_dir: Path,
        version: str = __version__,
    ):
        self.registry = registry
        self.store = store
        self.parity = parity
        self.models_dir = models_dir
        self.version = version

    def record(self, model: str, kind: str, datasets: Sequence[Path], summary: dict) -> int:
        """Keep one evaluation's result with what produced it."""
        entry = self.registry.entry(model)
        return self.store.add(
            entry.id,
            kind,
            " + ".join(p.name for p in datasets),
            digest(datasets),
            self.version,
            entry.weights_sha256,
            summary,
        )

    def _stale(self, record: EvaluationRecord, now: datetime) -> list[str]:
        entry = self.registry.entry(record.model)
        reasons = []
        if record.model_sha256 != entry.weights_sha256:
            reasons.append(
                "its adapter has changed since"
                if record.model_sha256.split("+")[0] == entry.sha256
                else "the model file has changed since"
            )
        if record.greffier_version != self.version:
            reasons.append(f"measured with Greffier {record.greffier_version}, now {self.version}")
        when = datetime.fromisoformat(record.created_at.replace("Z", "+00:00"))
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        if now - when > timedelta(days=STALE_DAYS):
            reasons.append(f"older than {STALE_DAYS} days")
        return reasons

    def _result(self, record: EvaluationRecord, now: datetime) -> dict:
        reasons = self._stale(record, now)
        return {
            **record.summary,
            "measured_at": record.created_at,
            "dataset": record.dataset,
            "dataset_sha256": record.dataset_sha256,
            "greffier_version": record.greffier_version,
            "stale": bool(reasons),
            "stale_reasons": reasons,
        }

    def evaluations(self, model: str) -> dict:
        """The report card's measured part for one model: {"bias": …, "answers": …},
        absent kinds left out (the extension fields of /v1/models/{id})."""
        entry = self.registry.entry(model)
        now = datetime.now(UTC)
        card: dict = {}
        for record in self.store.latest(entry.id):
            card[record.kind] = self._result(record, now)
        parity = self.parity.get(entry.id, "fr")
        if parity:
            card["token_parity_fr"] = round(parity, 3)
        return card

    def card(self, model: str) -> dict:
        """Everything the card shows: the model object with openness, plus evaluations."""
        entry = self.registry.entry(model)
        card = model_card(entry, self.models_dir, self.registry.ready(entry))
        return {**card, "evaluations": self.evaluations(entry.id)}

    def cards(self) -> list[dict]:
        """Every chat model's card, for the side-by-side comparison."""
        return [self.card(e.id) for e in self.registry.entries(Role.chat)]
