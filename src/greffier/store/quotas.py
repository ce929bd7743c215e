"""Quota limits per API key or group, and tokens used per key and day."""

from __future__ import annotations

from greffier.store.access import GROUP_AND_NESTED, MY_GROUPS
from greffier.store.database import Database
from greffier.store.records import Quota, from_row


class QuotaStore:
    def __init__(self, db: Database):
        self.db = db

    def set(self, subject_type: str, subject_id: int, rpm: int | None, tpd: int | None) -> None:
        with self.db.write() as conn:
            if rpm is None and tpd is None:
                conn.execute(
                    "DELETE FROM quotas WHERE subject_type = ? AND subject_id = ?",
                    (subject_type, subject_id),
                )
                return
            conn.execute(
                "INSERT INTO quotas (subject_type, subject_id, requests_per_minute, "
                "tokens_per_day) VALUES (?, ?, ?, ?) ON CONFLICT (subject_type, subject_id) "
                "DO UPDATE SET requests_per_minute = excluded.requests_per_minute, "
                "tokens_per_day = excluded.tokens_per_day",
                (subject_type, subject_id, rpm, tpd),
            )

    def all(self) -> list[Quota]:
        rows = self.db.query(
            "SELECT q.*, CASE q.subject_type WHEN 'group' THEN (SELECT name FROM groups "
            "WHERE id = q.subject_id) ELSE (SELECT prefix FROM api_keys WHERE id = "
            "q.subject_id) END AS subject FROM quotas q ORDER BY subject_type, subject_id"
        )
        return [from_row(Quota, r) for r in rows]

    def applying_to(self, user_id: int, key_id: int) -> list[Quota]:
        """The quotas on this key and on every group the user is in (directly or not). A
        password session (``key_id`` 0) is bound by the quotas of each of the user's active
        keys: a key's quota limits its owner, whatever they sign in with."""
        owned_keys = (
            "SELECT id FROM api_keys WHERE user_id = :user AND revoked_at IS NULL AND "
            f"(expires_at IS NULL OR expires_at > {self.db.now})"
        )
        rows = self.db.query(
            f"{MY_GROUPS} SELECT * FROM quotas WHERE (subject_type = 'key' AND (subject_id = "
            f":key OR (:key = 0 AND subject_id IN ({owned_keys})))) "
            "OR (subject_type = 'group' AND subject_id IN (SELECT id FROM my_groups))",
            {"user": user_id, "key": key_id},
        )
        return [from_row(Quota, r) for r in rows]

    def add_tokens(self, day: str, user_id: int, key_id: int, tokens: int) -> None:
        with self.db.write() as conn:
            conn.execute(
                "INSERT INTO usage_by_key (day, user_id, key_id, tokens) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (day, user_id, key_id) DO UPDATE SET tokens = usage_by_key.tokens + "
                "excluded.tokens",
                (day, user_id, key_id, tokens),
            )

    def tokens_of_key(self, day: str, key_id: int) -> int:
        """Tokens used today through this key, and by its owner signed in with a password
        (key 0)."""
        return self.db.scalar(
            "SELECT coalesce(sum(tokens), 0) FROM usage_by_key WHERE day = :day AND (key_id = "
            ":key OR (key_id = 0 AND user_id = (SELECT user_id FROM api_keys WHERE id = :key)))",
            {"day": day, "key": key_id},
        )

    def tokens_of_group(self, day: str, group_id: int) -> int:
        """Tokens used today by every member of the group, nested groups included."""
        return self.db.scalar(
            f"{GROUP_AND_NESTED} SELECT coalesce(sum(tokens), 0) FROM usage_by_key "
            "WHERE day = :day AND user_id IN (SELECT user_id FROM group_members "
            "WHERE group_id IN (SELECT id FROM inside))",
            {"outer": group_id, "day": day},
        )

    def forget_user(self, user_id: int) -> None:
        with self.db.write() as conn:
            conn.execute("DELETE FROM usage_by_key WHERE user_id = ?", (user_id,))
            conn.execute(
                "DELETE FROM quotas WHERE subject_type = 'key' AND subject_id IN "
                "(SELECT id FROM api_keys WHERE user_id = ?)",
                (user_id,),
            )
