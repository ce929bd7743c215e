"""Moving a one-PC installation (SQLite) into PostgreSQL: every table, row for row, ids
kept, vectors included; then the proof — the same number of rows in every table, and
sample searches that find the same passages.

Only into an empty database: a copy over existing data would merge two installations.
Stored files (uploads, recordings) are not in the database: they stay where setting
files_dir says, which every node must reach.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from greffier.errors import ConfigError
from greffier.store.database import Database
from greffier.store.documents import DocumentStore
from greffier.store.postgres.database import PgDatabase
from greffier.store.postgres.documents import PgDocumentStore

# In an order that satisfies every foreign key. Meetings come before collections (a
# meeting's transcript has a collection of its own) and get their document afterwards.
TABLES = (
    "users",
    "api_keys",
    "groups",
    "group_members",
    "meetings",
    "collections",
    "documents",
    "chunks",
    "grants",
    "meeting_segments",
    "meeting_speakers",
    "meeting_minutes",
    "jobs",
    "audit_log",
    "quotas",
    "usage_by_key",
    "usage_daily",
    "web_sessions",
    "conversations",
    "conversation_messages",
    "credential_requests",
    "account_notices",
    "accepted_shares",
    "signin_failures",
    "request_log",
    "responses",
    "evaluations",
    "answers",
    "feedback",
    "embedding_space",
)
# Tables whose id PostgreSQL generates (identity columns, to move past the copied ids).
GENERATED_IDS = (
    "users",
    "api_keys",
    "groups",
    "meetings",
    "collections",
    "documents",
    "chunks",
    "grants",
    "meeting_segments",
    "audit_log",
    "conversations",
    "conversation_messages",
    "credential_requests",
    "account_notices",
    "evaluations",
    "feedback",
)
BATCH = 500
SAMPLES = 5
LEXICAL_DEPTH = 1000


@dataclass
class TransferReport:
    rows: dict[str, tuple[int, int]] = field(default_factory=dict)  # table: (sqlite, pg)
    searches: list[str] = field(default_factory=list)  # what each sample search found
    problems: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.problems


def _columns(source: Database, table: str) -> list[str]:
    return [r["name"] for r in source.query(f"PRAGMA table_info({table})")]


def _quoted(names: list[str]) -> str:
    return ", ".join(f'"{n}"' for n in names)


def transfer(
    source: Database,
    target: PgDatabase,
    progress: Callable[[str, int, int], None] = lambda table, done, total: None,
) -> TransferReport:
    """Copy ``source`` into the empty ``target``; ``progress(table, rows done, rows)``."""
    if target.scalar(
        "SELECT (SELECT count(*) FROM users) + (SELECT count(*) FROM collections) "
        "+ (SELECT count(*) FROM meetings) + (SELECT count(*) FROM audit_log)"
    ):
        raise ConfigError(
            "The PostgreSQL database already holds data: Greffier moves an installation into "
            "an empty database only (create a new one, or empty this one first)."
        )
    vectors = {
        r[0]: np.frombuffer(r[1], dtype=np.float32)
        for r in source.query("SELECT chunk_id, embedding FROM chunks_vec")
    }
    lengths = {len(v) for v in vectors.values()}
    target_documents = PgDocumentStore(target)
    if len(lengths) == 1 and lengths != {target_documents.vector_dimensions()}:
        target_documents.resize_vectors(lengths.pop())  # an index of another embedder
    with target.write() as conn:
        for table in TABLES:
            columns = _columns(source, table)
            names = [c for c in columns if not (table == "meetings" and c == "document_id")]
            rows = source.query(f"SELECT {_quoted(names)} FROM {table}")
            if table == "chunks":
                names = [*names, "embedding"]
                rows = [(*r, vectors[r["id"]]) for r in rows]
            insert = (
                f"INSERT INTO {table} ({_quoted(names)}) VALUES ({', '.join('?' * len(names))})"
            )
            for start in range(0, len(rows), BATCH):
                conn.executemany(insert, [tuple(r) for r in rows[start : start + BATCH]])
                progress(table, min(start + BATCH, len(rows)), len(rows))
            if not rows:
                progress(table, 0, 0)
        for meeting_id, document_id in source.query(
            "SELECT id, document_id FROM meetings WHERE document_id IS NOT NULL"
        ):
            conn.execute(
                "UPDATE meetings SET document_id = ? WHERE id = ?", (document_id, meeting_id)
            )
        for table in GENERATED_IDS:  # new rows get ids after the copied ones
            conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"coalesce((SELECT max(id) FROM {table}), 0) + 1, false)"
            )
    return verify(source, target)


def verify(source: Database, target: PgDatabase) -> TransferReport:
    """Rows per table on both sides, and sample searches: each sampled passage is found
    first by its own vector, and found (indexed, within the collection filter) by its own
    words, on both."""
    report = TransferReport()
    for table in TABLES:
        counts = (
            source.scalar(f"SELECT count(*) FROM {table}"),
            target.scalar(f"SELECT count(*) FROM {table}"),
        )
        report.rows[table] = counts
        if counts[0] != counts[1]:
            report.problems.append(f"{table}: {counts[0]} rows in SQLite, {counts[1]} copied")
    collections = [r[0] for r in source.query("SELECT id FROM collections")]
    samples = source.query(
        "SELECT c.id, c.heading, c.text, v.embedding FROM chunks c "
        f"JOIN chunks_vec v ON v.chunk_id = c.id ORDER BY c.id LIMIT {SAMPLES}"
    )
    stores = {"SQLite": DocumentStore(source), "PostgreSQL": PgDocumentStore(target)}
    for chunk_id, heading, text, blob in samples:
        vector = np.frombuffer(blob, dtype=np.float32)
        words = " ".join(f"{heading} {text}".split()[:12])
        for name, store in stores.items():
            nearest = store.semantic(vector, collections, 1)
            lexical = [c.chunk_id for c in store.lexical(words, collections, LEXICAL_DEPTH)]
            if not nearest or nearest[0].chunk_id != chunk_id:
                report.problems.append(f"{name}: passage {chunk_id} is not its own nearest")
            if chunk_id not in lexical:
                report.problems.append(f"{name}: passage {chunk_id} not found by its words")
        report.searches.append(f"passage {chunk_id}: found by its vector and by its words")
    return report
