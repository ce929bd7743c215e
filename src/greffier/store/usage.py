"""Daily totals of chat usage per model: requests, tokens, estimated energy."""

from __future__ import annotations

from greffier.store.database import Database
from greffier.store.records import UsageDay, from_row


class UsageStore:
    def __init__(self, db: Database):
        self.db = db

    def add(
        self, day: str, model: str, prompt_tokens: int, completion_tokens: int, joules: float
    ) -> None:
        with self.db.write() as conn:
            conn.execute(
                "INSERT INTO usage_daily (day, model, requests, prompt_tokens, completion_tokens,"
                " energy_joules) VALUES (?, ?, 1, ?, ?, ?) ON CONFLICT (day, model) DO UPDATE SET"
                " requests = usage_daily.requests + 1,"
                " prompt_tokens = usage_daily.prompt_tokens + excluded.prompt_tokens,"
                " completion_tokens = usage_daily.completion_tokens + excluded.completion_tokens,"
                " energy_joules = usage_daily.energy_joules + excluded.energy_joules",
                (day, model, prompt_tokens, completion_tokens, joules),
            )

    def since(self, day: str) -> list[UsageDay]:
        rows = self.db.query(
            "SELECT * FROM usage_daily WHERE day >= ? ORDER BY day DESC, model", (day,)
        )
        return [from_row(UsageDay, r) for r in rows]
