"""Model evaluations kept for the report card: one row per run (bias, grounded answers),
with what produced it; the card reads the latest of each kind per model."""

from __future__ import annotations

import json

from greffier.store.database import Database
from greffier.store.records import EvaluationRecord, from_row


def _record(row) -> EvaluationRecord:
    return from_row(EvaluationRecord, row, summary=json.loads(row["summary"]))


class EvaluationStore:
    def __init__(self, db: Database):
        self.db = db

    def add(
        self,
        model: str,
        kind: str,
        dataset: str,
        dataset_sha256: str,
        greffier_version: str,
        model_sha256: str,
        summary: dict,
    ) -> int:
        with self.db.write() as conn:
            return conn.execute(
                "INSERT INTO evaluations (model, kind, dataset, dataset_sha256, "
                "greffier_version, model_sha256, summary) VALUES (?, ?, ?, ?, ?, ?, ?) "
                "RETURNING id",
                (
                    model,
                    kind,
                    dataset,
                    dataset_sha256,
                    greffier_version,
                    model_sha256,
                    json.dumps(summary, ensure_ascii=False),
                ),
            ).fetchone()[0]

    def latest(self, model: str | None = None) -> list[EvaluationRecord]:
        """The latest result of each kind for each model (or for ``model``)."""
        rows = self.db.query(
            "SELECT e.* FROM evaluations e JOIN ("
            " SELECT model, kind, max(id) AS id FROM evaluations GROUP BY model, kind"
            ") last ON last.id = e.id"
            " WHERE CAST(? AS TEXT) IS NULL OR e.model = ?"
            " ORDER BY e.model, e.kind",
            (model, model),
        )
        return [_record(r) for r in rows]
