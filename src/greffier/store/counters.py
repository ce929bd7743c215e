"""Counters every API process shares: recent requests per quota subject, and failed
sign-ins per account and per client address (migration 012_counters).

They live in the database, not in a process's memory, so that several ``greffier serve``
processes behind one load balancer count the same requests and the same failures. Each
method is one short write transaction; times are seconds since the epoch, given by the
caller (the services own the clock and the rules).
"""

from __future__ import annotations

from greffier.store.database import Database
from greffier.store.records import FailureCount, from_row


class CounterStore:
    def __init__(self, db: Database):
        self.db = db

    # --- requests per minute (quotas) ----------------------------------------------------

    def take(self, subject: str, now: float, window: float, limit: int) -> float | None:
        """Count one request of ``subject`` at ``now`` unless ``limit`` requests were
        counted in the last ``window`` seconds. None when counted; otherwise the time of
        the oldest request of the window (the caller's retry time is that + window)."""
        with self.db.write() as conn:
            conn.execute(
                "DELETE FROM request_log WHERE subject = ? AND at <= ?", (subject, now - window)
            )
            count, oldest = conn.execute(
                "SELECT count(*), min(at) FROM request_log WHERE subject = ?", (subject,)
            ).fetchone()
            if count >= limit:
                return oldest
            conn.execute("INSERT INTO request_log (subject, at) VALUES (?, ?)", (subject, now))
            return None

    # --- failed sign-ins (throttling) ----------------------------------------------------

    def failures(self, subject: str) -> FailureCount | None:
        row = self.db.query_one("SELECT * FROM signin_failures WHERE subject = ?", (subject,))
        return from_row(FailureCount, row) if row else None

    def add_failure(self, subject: str, now: float, window: float | None = None) -> FailureCount:
        """One more failure for ``subject``. With ``window``, failures older than it (from
        the first one counted) start a new count."""
        with self.db.write() as conn:
            row = conn.execute(
                "SELECT failures, first_at FROM signin_failures WHERE subject = ?", (subject,)
            ).fetchone()
            if row is None or (window is not None and now - row["first_at"] >= window):
                conn.execute(
                    "INSERT INTO signin_failures (subject, failures, first_at, last_at) "
                    "VALUES (?, 1, ?, ?) ON CONFLICT (subject) DO UPDATE SET failures = 1, "
                    "first_at = excluded.first_at, last_at = excluded.last_at, "
                    "blocked_until = 0",
                    (subject, now, now),
                )
            else:
                conn.execute(
                    "UPDATE signin_failures SET failures = failures + 1, last_at = ? "
                    "WHERE subject = ?",
                    (now, subject),
                )
            found = conn.execute(
                "SELECT * FROM signin_failures WHERE subject = ?", (subject,)
            ).fetchone()
            return from_row(FailureCount, found)

    def block(self, subject: str, until: float) -> None:
        with self.db.write() as conn:
            conn.execute(
                "UPDATE signin_failures SET blocked_until = ? WHERE subject = ?", (until, subject)
            )

    def clear(self, subject: str) -> None:
        with self.db.write() as conn:
            conn.execute("DELETE FROM signin_failures WHERE subject = ?", (subject,))

    def forget_older_than(self, when: float) -> None:
        """Drop counts nobody needs any more (called now and then)."""
        with self.db.write() as conn:
            conn.execute("DELETE FROM request_log WHERE at < ?", (when,))
            conn.execute(
                "DELETE FROM signin_failures WHERE last_at < ? AND blocked_until < ?",
                (when, when),
            )
