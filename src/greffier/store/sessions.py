"""Web sessions (migration 010_web), keyed by the SHA-256 of their cookie value: a copy of
the database does not give anyone a working session."""

from __future__ import annotations

import hashlib

from greffier.store.database import Database
from greffier.store.records import SessionRecord, from_row


def digest(token: str) -> str:
    # Session tokens are 256-bit random values: a fast hash is enough (as for API keys).
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class SessionStore:
    def __init__(self, db: Database):
        self.db = db

    def add_session(
        self, token: str, user_id: int, key_id: int | None, csrf: str, expires_at: str
    ) -> None:
        with self.db.write() as conn:
            conn.execute(f"DELETE FROM web_sessions WHERE expires_at <= {self.db.now}")
            conn.execute(
                "INSERT INTO web_sessions (id, user_id, key_id, csrf, expires_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (digest(token), user_id, key_id, csrf, expires_at),
            )

    def session(self, token: str) -> SessionRecord | None:
        """The unexpired session of a cookie value, or None."""
        row = self.db.query_one(
            "SELECT user_id, key_id, csrf, expires_at FROM web_sessions "
            f"WHERE id = ? AND expires_at > {self.db.now}",
            (digest(token),),
        )
        return from_row(SessionRecord, row) if row else None

    def delete_session(self, token: str) -> None:
        with self.db.write() as conn:
            conn.execute("DELETE FROM web_sessions WHERE id = ?", (digest(token),))

    def delete_sessions_of(self, user_id: int) -> None:
        with self.db.write() as conn:
            conn.execute("DELETE FROM web_sessions WHERE user_id = ?", (user_id,))
