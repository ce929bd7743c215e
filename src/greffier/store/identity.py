"""Users and API keys. Keys are stored as SHA-256 digests, never in clear."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from greffier.store.database import Database


def digest(key: str) -> str:
    # Keys are 256-bit random tokens: a fast hash is enough (no dictionary to fear),
    # and it keeps the per-request check to one indexed lookup.
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class KeyRecord:
    id: int
    user_id: int
    user: str
    role: str
    label: str
    prefix: str
    created_at: str
    last_used_at: str | None
    revoked_at: str | None
    user_disabled_at: str | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None and self.user_disabled_at is None


_SELECT_KEYS = """
    SELECT k.id, k.user_id, u.name AS user, u.role, k.label, k.prefix, k.created_at,
           k.last_used_at, k.revoked_at, u.disabled_at AS user_disabled_at
    FROM api_keys k JOIN users u ON u.id = k.user_id
"""


def _record(row) -> KeyRecord:
    return KeyRecord(**dict(row))


class IdentityStore:
    def __init__(self, db: Database):
        self.db = db

    def ensure_user(self, name: str, role: str) -> int:
        with self.db.write() as conn:
            row = conn.execute("SELECT id FROM users WHERE name = ?", (name,)).fetchone()
            if row:
                return row[0]
            return conn.execute(
                "INSERT INTO users (name, role) VALUES (?, ?)", (name, role)
            ).lastrowid

    def role(self, user_id: int) -> str:
        return self.db.query_one("SELECT role FROM users WHERE id = ?", (user_id,))[0]

    def add_key(self, user_id: int, key: str, label: str, prefix: str) -> int:
        with self.db.write() as conn:
            return conn.execute(
                "INSERT INTO api_keys (user_id, label, prefix, sha256) VALUES (?, ?, ?, ?)",
                (user_id, label, prefix, digest(key)),
            ).lastrowid

    def find_key(self, key: str) -> KeyRecord | None:
        row = self.db.query_one(_SELECT_KEYS + " WHERE k.sha256 = ?", (digest(key),))
        return _record(row) if row else None

    def touch_key(self, key_id: int) -> None:
        with self.db.write() as conn:
            conn.execute(
                "UPDATE api_keys SET last_used_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') "
                "WHERE id = ?",
                (key_id,),
            )

    def list_keys(self) -> list[KeyRecord]:
        rows = self.db.query(_SELECT_KEYS + " ORDER BY k.id")
        return [_record(r) for r in rows]

    def revoke_key(self, key_id: int) -> bool:
        with self.db.write() as conn:
            cursor = conn.execute(
                "UPDATE api_keys SET revoked_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') "
                "WHERE id = ? AND revoked_at IS NULL",
                (key_id,),
            )
            return cursor.rowcount == 1

    def count_active_admin_keys(self) -> int:
        row = self.db.query_one(
            "SELECT count(*) FROM api_keys k JOIN users u ON u.id = k.user_id "
            "WHERE u.role = 'admin' AND k.revoked_at IS NULL AND u.disabled_at IS NULL"
        )
        return row[0]
