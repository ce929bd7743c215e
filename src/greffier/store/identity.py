"""Users and API keys. Keys are stored as SHA-256 digests, never in clear."""

from __future__ import annotations

import hashlib

from greffier.store.database import Database
from greffier.store.records import KeyRecord, UserRecord, from_row


def digest(key: str) -> str:
    # Keys are 256-bit random tokens: a fast hash is enough (no dictionary to fear),
    # and it keeps the per-request check to one indexed lookup.
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


_SELECT_KEYS = """
    SELECT k.id, k.user_id, u.name AS user, u.role, k.label, k.prefix, k.created_at,
           k.last_used_at, k.revoked_at, u.disabled_at AS user_disabled_at, k.expires_at
    FROM api_keys k JOIN users u ON u.id = k.user_id
"""


_SELECT_USERS = """
    SELECT id, name, role, created_at, disabled_at, password_hash IS NOT NULL AS has_password
    FROM users
"""


def _key(row) -> KeyRecord:
    return from_row(KeyRecord, row)


def _user(row) -> UserRecord:
    return from_row(UserRecord, row, has_password=bool(row["has_password"]))


class IdentityStore:
    def __init__(self, db: Database):
        self.db = db

    def ensure_user(self, name: str, role: str) -> int:
        with self.db.write() as conn:
            row = conn.execute("SELECT id FROM users WHERE name = ?", (name,)).fetchone()
            if row:
                return row[0]
            return conn.execute(
                "INSERT INTO users (name, role) VALUES (?, ?) RETURNING id", (name, role)
            ).fetchone()[0]

    def add_key(
        self, user_id: int, key: str, label: str, prefix: str, expires_at: str | None = None
    ) -> int:
        with self.db.write() as conn:
            return conn.execute(
                "INSERT INTO api_keys (user_id, label, prefix, sha256, expires_at) "
                "VALUES (?, ?, ?, ?, ?) RETURNING id",
                (user_id, label, prefix, digest(key), expires_at),
            ).fetchone()[0]

    def key(self, key_id: int) -> KeyRecord | None:
        row = self.db.query_one(_SELECT_KEYS + " WHERE k.id = ?", (key_id,))
        return _key(row) if row else None

    # --- users ---------------------------------------------------------------------------

    def user(self, user_id: int) -> UserRecord | None:
        row = self.db.query_one(_SELECT_USERS + " WHERE id = ?", (user_id,))
        return _user(row) if row else None

    def user_by_name(self, name: str) -> UserRecord | None:
        row = self.db.query_one(_SELECT_USERS + " WHERE name = ?", (name,))
        return _user(row) if row else None

    def users(self) -> list[UserRecord]:
        return [_user(r) for r in self.db.query(_SELECT_USERS + " ORDER BY id")]

    def create_user(self, name: str, role: str) -> int:
        with self.db.write() as conn:
            return conn.execute(
                "INSERT INTO users (name, role) VALUES (?, ?) RETURNING id", (name, role)
            ).fetchone()[0]

    def update_user(self, user_id: int, **fields) -> None:
        if not fields or set(fields) - {"role", "disabled_at", "password_hash"}:
            raise ValueError(f"unknown user fields: {set(fields)}")
        columns = ", ".join(f"{name} = ?" for name in fields)
        with self.db.write() as conn:
            conn.execute(f"UPDATE users SET {columns} WHERE id = ?", (*fields.values(), user_id))

    def password_hash(self, name: str) -> tuple[int, str | None] | None:
        row = self.db.query_one("SELECT id, password_hash FROM users WHERE name = ?", (name,))
        return (row[0], row[1]) if row else None

    def delete_user(self, user_id: int) -> None:
        with self.db.write() as conn:
            conn.execute("DELETE FROM users WHERE id = ?", (user_id,))

    def find_key(self, key: str) -> KeyRecord | None:
        row = self.db.query_one(_SELECT_KEYS + " WHERE k.sha256 = ?", (digest(key),))
        return _key(row) if row else None

    def touch_key(self, key_id: int) -> None:
        with self.db.write() as conn:
            conn.execute(
                f"UPDATE api_keys SET last_used_at = {self.db.now} WHERE id = ?",
                (key_id,),
            )

    def list_keys(self, user_id: int | None = None) -> list[KeyRecord]:
        if user_id is None:
            rows = self.db.query(_SELECT_KEYS + " ORDER BY k.id")
        else:
            rows = self.db.query(_SELECT_KEYS + " WHERE k.user_id = ? ORDER BY k.id", (user_id,))
        return [_key(r) for r in rows]

    def revoke_key(self, key_id: int) -> bool:
        with self.db.write() as conn:
            cursor = conn.execute(
                f"UPDATE api_keys SET revoked_at = {self.db.now} "
                "WHERE id = ? AND revoked_at IS NULL",
                (key_id,),
            )
            return cursor.rowcount == 1

    def count_active_admin_keys(self) -> int:
        return self.db.scalar(
            "SELECT count(*) FROM api_keys k JOIN users u ON u.id = k.user_id "
            "WHERE u.role = 'admin' AND k.revoked_at IS NULL AND u.disabled_at IS NULL"
        )
