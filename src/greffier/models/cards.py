"""A catalogue entry as the OpenAI model object, with Greffier's extension fields (role,
licence, openness card, whether its files are here). The API lists these and the web
interface shows them: both read them from here."""

from __future__ import annotations

from pathlib import Path

from greffier.models import files
from greffier.models.catalogue import ModelEntry

_CREATED = 1735689600  # catalogue entries have no creation date; a fixed one keeps ids stable


def model_card(entry: ModelEntry, models_dir: Path, ready: bool | None = None) -> dict:
    """``ready``: whether the server can serve the model now (files and runtime here)."""
    available = (not entry.has_file) or files.model_path(models_dir, entry).is_file()
    if entry.adapter is not None:
        available = available and entry.adapter.path.expanduser().is_file()
    card = {
        "id": entry.id,
        "object": "model",
        "created": _CREATED,
        "owned_by": "greffier",
        "name": entry.name,
        "role": entry.role.value,
        "backend": entry.backend,
        "licence": entry.licence,
        "context_length": entry.context_length,
        "available": available,
        "ready": available if ready is None else ready,
        "openness": {
            "verdict": entry.openness.verdict,
            "components": {
                name: component.model_dump(mode="json")
                for name, component in entry.openness.components()
            },
        },
    }
    if entry.adapter is not None:
        adapter = entry.adapter
        card["base"] = adapter.base
        card["adapter"] = {
            "sha256": adapter.sha256,
            "dataset": adapter.dataset,
            "dataset_sha256": adapter.dataset_sha256,
            "examples": adapter.examples,
            "dataset_card": adapter.dataset_card,
            "dataset_card_sha256": adapter.dataset_card_sha256,
            "steps": adapter.steps,
            "rank": adapter.rank,
        }
    return card
