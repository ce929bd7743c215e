"""Stored /v1/responses answers (migration 017_responses), for ``previous_response_id``.
They go with their user (the erasure census counts them)."""

from __future__ import annotations

import json

from greffier.store.database import Database
from greffier.store.records import ResponseRecord, from_row

_JSON = ("output", "usage", "conversation", "request")


class ResponseStore:
    def __init__(self, db: Database):
        self.db = db

    def save(self, record: ResponseRecord) -> None:
        with self.db.write() as conn:
            conn.execute(
                "INSERT INTO responses (id, user_id, model, previous_id, status, output, usage, "
                "conversation, request) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    record.id,
                    record.user_id,
                    record.model,
                    record.previous_id,
                    record.status,
                    *(json.dumps(getattr(record, name), ensure_ascii=False) for name in _JSON),
                ),
            )

    def get(self, response_id: str) -> ResponseRecord | None:
        row = self.db.query_one("SELECT * FROM responses WHERE id = ?", (response_id,))
        if row is None:
            return None
        return from_row(ResponseRecord, row, **{name: json.loads(row[name]) for name in _JSON})

    def delete(self, response_id: str) -> None:
        with self.db.write() as conn:
            conn.execute("DELETE FROM responses WHERE id = ?", (response_id,))

    def forget_user(self, user_id: int) -> int:
        """Delete every response of a person (right to erasure); how many there were."""
        with self.db.write() as conn:
            return conn.execute("DELETE FROM responses WHERE user_id = ?", (user_id,)).rowcount
