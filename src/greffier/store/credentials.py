"""Credential requests waiting for a second admin, and the notices each person reads about
their own credentials (migration 013_credential_requests)."""

from __future__ import annotations

from greffier.store.database import Database
from greffier.store.records import AccountNotice, CredentialRequest, from_row

_SELECT_REQUESTS = """
    SELECT r.*, u.name AS user, a.name AS requested_by_name
    FROM credential_requests r JOIN users u ON u.id = r.user_id
    LEFT JOIN users a ON a.id = r.requested_by
"""


class CredentialStore:
    def __init__(self, db: Database):
        self.db = db

    def add_request(
        self,
        user_id: int,
        kind: str,
        requested_by: int,
        *,
        label: str = "",
        expires_days: int | None = None,
        replaces_key_id: int | None = None,
        password_hash: str | None = None,
    ) -> int:
        with self.db.write() as conn:
            return conn.execute(
                "INSERT INTO credential_requests (user_id, kind, label, expires_days, "
                "replaces_key_id, password_hash, requested_by) VALUES (?, ?, ?, ?, ?, ?, ?) "
                "RETURNING id",
                (user_id, kind, label, expires_days, replaces_key_id, password_hash, requested_by),
            ).fetchone()[0]

    def request(self, request_id: int) -> CredentialRequest | None:
        row = self.db.query_one(_SELECT_REQUESTS + " WHERE r.id = ?", (request_id,))
        return from_row(CredentialRequest, row) if row else None

    def requested_password(self, request_id: int) -> str | None:
        """The Argon2 hash a password request would set (never shown, never returned)."""
        return self.db.scalar(
            "SELECT password_hash FROM credential_requests WHERE id = ?", (request_id,)
        )

    def pending(self) -> list[CredentialRequest]:
        rows = self.db.query(_SELECT_REQUESTS + " WHERE r.status = 'pending' ORDER BY r.id")
        return [from_row(CredentialRequest, r) for r in rows]

    def decide(self, request_id: int, status: str, decided_by: int) -> bool:
        """Close a pending request (approved or cancelled); False if it was not pending."""
        with self.db.write() as conn:
            return (
                conn.execute(
                    "UPDATE credential_requests SET status = ?, decided_by = ?, "
                    f"decided_at = {self.db.now}, password_hash = NULL "
                    "WHERE id = ? AND status = 'pending'",
                    (status, decided_by or None, request_id),
                ).rowcount
                == 1
            )

    # --- notices -------------------------------------------------------------------------

    def add_notice(
        self,
        user_id: int,
        kind: str,
        by_user: str | None,
        approved_by: str | None = None,
        key_prefix: str | None = None,
        seen: bool = False,
    ) -> None:
        with self.db.write() as conn:
            conn.execute(
                "INSERT INTO account_notices (user_id, kind, by_user, approved_by, key_prefix, "
                f"seen_at) VALUES (?, ?, ?, ?, ?, CASE WHEN ? THEN {self.db.now} END)",
                (user_id, kind, by_user, approved_by, key_prefix, seen),
            )

    def notices(self, user_id: int) -> list[AccountNotice]:
        rows = self.db.query(
            "SELECT * FROM account_notices WHERE user_id = ? ORDER BY id DESC", (user_id,)
        )
        return [from_row(AccountNotice, r) for r in rows]

    def unseen(self, user_id: int) -> int:
        return self.db.scalar(
            "SELECT count(*) FROM account_notices WHERE user_id = ? AND seen_at IS NULL",
            (user_id,),
        )

    def mark_seen(self, user_id: int) -> None:
        with self.db.write() as conn:
            conn.execute(
                f"UPDATE account_notices SET seen_at = {self.db.now} "
                "WHERE user_id = ? AND seen_at IS NULL",
                (user_id,),
            )
