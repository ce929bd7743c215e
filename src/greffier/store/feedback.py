"""Answers kept for feedback and the feedback given on them (migration 019_feedback).

``answers`` holds each chat completion's question, answer, citations and model under the
id the API returned; ``feedback`` one rating per answer by its author, with a copy of what
was rated (a rated /v1/responses answer lives in another table), and a curator's decision.
Both go with their user; a curator's name goes from the decisions they made.
"""

from __future__ import annotations

import json

from greffier.store.database import Database
from greffier.store.records import FeedbackRecord, KeptAnswer, from_row

ERASED = "[erased]"


def _feedback(row) -> FeedbackRecord:
    return from_row(FeedbackRecord, row, citations=json.loads(row["citations"]))


class FeedbackStore:
    def __init__(self, db: Database):
        self.db = db

    # --- answers ---------------------------------------------------------------------------

    def keep_answer(self, answer: KeptAnswer) -> None:
        with self.db.write() as conn:
            conn.execute(
                "INSERT INTO answers (id, user_id, model, question, answer, citations) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
                (
                    answer.id,
                    answer.user_id,
                    answer.model,
                    answer.question,
                    answer.answer,
                    json.dumps(answer.citations, ensure_ascii=False),
                ),
            )

    def forget_answers_before(self, cutoff: str) -> int:
        """Delete the answers kept before ``cutoff`` (an ISO time); feedback given keeps
        its own copy."""
        with self.db.write() as conn:
            return conn.execute("DELETE FROM answers WHERE created_at < ?", (cutoff,)).rowcount

    def answer(self, answer_id: str) -> KeptAnswer | None:
        row = self.db.query_one("SELECT * FROM answers WHERE id = ?", (answer_id,))
        if row is None:
            return None
        return from_row(KeptAnswer, row, citations=json.loads(row["citations"]))

    # --- feedback --------------------------------------------------------------------------

    def give(
        self,
        answer: KeptAnswer,
        rating: str,
        correction: str | None,
        reason: str | None,
    ) -> FeedbackRecord:
        """Record (or replace) the rating of ``answer`` by its author; a replaced rating
        goes back to curation."""
        with self.db.write() as conn:
            conn.execute(
                "INSERT INTO feedback (answer_id, user_id, model, question, answer, citations, "
                "rating, correction, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (answer_id) DO UPDATE SET rating = excluded.rating, "
                "correction = excluded.correction, reason = excluded.reason, "
                f"status = 'pending', curated_by = NULL, curated_at = NULL, "
                f"updated_at = {self.db.now}",
                (
                    answer.id,
                    answer.user_id,
                    answer.model,
                    answer.question,
                    answer.answer,
                    json.dumps(answer.citations, ensure_ascii=False),
                    rating,
                    correction,
                    reason,
                ),
            )
        found = self.of_answer(answer.id)
        assert found is not None
        return found

    def of_answer(self, answer_id: str) -> FeedbackRecord | None:
        row = self.db.query_one("SELECT * FROM feedback WHERE answer_id = ?", (answer_id,))
        return _feedback(row) if row else None

    def get(self, feedback_id: int) -> FeedbackRecord | None:
        row = self.db.query_one("SELECT * FROM feedback WHERE id = ?", (feedback_id,))
        return _feedback(row) if row else None

    def find(self, status: str | None = None, user_id: int | None = None) -> list[FeedbackRecord]:
        """Feedback, newest first: of one status and of one person, or all."""
        rows = self.db.query(
            "SELECT * FROM feedback WHERE (CAST(? AS TEXT) IS NULL OR status = ?) "
            "AND (CAST(? AS BIGINT) IS NULL OR user_id = ?) ORDER BY id DESC",
            (status, status, user_id, user_id),
        )
        return [_feedback(r) for r in rows]

    def curate(self, feedback_id: int, status: str, curator: str) -> None:
        with self.db.write() as conn:
            conn.execute(
                f"UPDATE feedback SET status = ?, curated_by = ?, curated_at = {self.db.now} "
                "WHERE id = ?",
                (status, curator, feedback_id),
            )

    def forget_user(self, user_id: int, name: str) -> int:
        """Delete a person's kept answers and feedback, and take their name from the
        decisions they made as a curator (right to erasure); how many rows went."""
        with self.db.write() as conn:
            gone = conn.execute("DELETE FROM answers WHERE user_id = ?", (user_id,)).rowcount
            gone += conn.execute("DELETE FROM feedback WHERE user_id = ?", (user_id,)).rowcount
            conn.execute("UPDATE feedback SET curated_by = ? WHERE curated_by = ?", (ERASED, name))
            return gone
