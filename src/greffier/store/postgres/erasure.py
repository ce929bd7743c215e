"""The erasure census on PostgreSQL: full text and vectors are columns of ``chunks``.

The purge is PostgreSQL's own: ``VACUUM FULL`` rewrites each table an erasure touched, so
no dead row version of the person stays in the tables' files. Those files (and the
server's write-ahead log, recycled at its next checkpoints) are the server's, not readable
by a client: the residue scan of the SQLite store has no equivalent here, and the report
says so (``samples_checked`` 0). docs/security.md lists what this leaves to the operator.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from greffier.store.erasure import ErasureStore

# Every table that can hold something of a person (store/erasure.py's census).
TOUCHED = (
    "users",
    "api_keys",
    "web_sessions",
    "group_members",
    "grants",
    "collections",
    "documents",
    "chunks",
    "meetings",
    "meeting_segments",
    "meeting_speakers",
    "meeting_minutes",
    "jobs",
    "usage_by_key",
    "audit_log",
    "conversations",
    "conversation_messages",
    "credential_requests",
    "account_notices",
    "accepted_shares",
    "signin_failures",
)


class PgErasureStore(ErasureStore):
    index_tables: ClassVar[dict[str, str]] = {}
    scans_files: ClassVar[bool] = False

    def purge(self) -> bool:
        # VACUUM cannot run inside a transaction: a pool connection, in autocommit.
        with self.db.pool.connection() as conn:
            conn.execute(f"VACUUM FULL {', '.join(TOUCHED)}")
        return True

    def residue(self, samples: Sequence[tuple[str, str]]) -> list[str]:
        return []
