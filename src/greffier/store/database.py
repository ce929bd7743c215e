"""The SQLite database: one file, WAL mode, migrations applied at start.

Connections are per thread (sqlite3 objects must not cross threads); writes are
serialised by a process-wide lock so that concurrent writers queue instead of failing
with "database is locked". A write transaction opened inside another on the same thread
joins it, so a service can make several stores' writes one unit (a meeting and its job).
The schema is in ``store/migrations.py``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlite_vec

from greffier.store.migrations import MIGRATIONS
from greffier.store.sqlite import EMBEDDING_DIM, NOW, sqlite3

__all__ = ["EMBEDDING_DIM", "Database"]


class Database:
    """SQLite. Stores write SQL both databases understand (``?`` placeholders, ``RETURNING``,
    ``ON CONFLICT``) and take dialect spellings from here."""

    dialect = "sqlite"
    now = NOW  # the current time, as stored

    def __init__(self, path: Path):
        self.path = path
        self._local = threading.local()
        self._write_lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)
        self.migrate()

    def _connect(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            conn.row_factory = sqlite3.Row
            conn.enable_load_extension(True)
            sqlite_vec.load(conn)
            conn.enable_load_extension(False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA foreign_keys=ON")
            # Deleted rows are overwritten with zeros, not left in free pages: what an
            # erasure removes cannot be read back from the file (services/erasure.py).
            conn.execute("PRAGMA secure_delete=ON")
            conn.execute("PRAGMA busy_timeout=30000")
            self._local.conn = conn
            self._local.depth = 0
        return conn

    def query(self, sql: str, params: tuple | dict = ()) -> list[sqlite3.Row]:
        return self._connect().execute(sql, params).fetchall()

    def query_one(self, sql: str, params: tuple | dict = ()) -> sqlite3.Row | None:
        return self._connect().execute(sql, params).fetchone()

    def scalar(self, sql: str, params: tuple | dict = ()):
        """The first column of the first row (None without a row)."""
        row = self.query_one(sql, params)
        return row[0] if row is not None else None

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction: committed on success, rolled back on any error. Nested on
        the same thread, it joins the outer one (committed or rolled back with it)."""
        conn = self._connect()
        if self._local.depth:
            self._local.depth += 1
            try:
                yield conn
            finally:
                self._local.depth -= 1
            return
        with self._write_lock:
            conn.execute("BEGIN IMMEDIATE")
            self._local.depth = 1
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            else:
                conn.execute("COMMIT")
            finally:
                self._local.depth = 0

    def compact(self, attempts: int = 50) -> bool:
        """Rewrite the file without free pages (VACUUM), then copy the write-ahead log
        into it and truncate the log to zero bytes: no old version of any page stays in
        either file. Waits for the write lock; retries the checkpoint while another
        connection still reads (False if the log could not be emptied)."""
        conn = self._connect()
        with self._write_lock:
            conn.execute("VACUUM")
            for _ in range(attempts):
                busy, _, _ = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
                if not busy:
                    return True
                time.sleep(0.1)
        return False

    def files(self) -> list[Path]:
        """The database file and its write-ahead log (what a residue scan reads)."""
        return [self.path, self.path.with_name(self.path.name + "-wal")]

    def migrate(self) -> list[str]:
        with self.write() as conn:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied_at TEXT "
                f"NOT NULL DEFAULT ({NOW}))"
            )
            done = {row[0] for row in conn.execute("SELECT name FROM migrations")}
            applied = []
            for name, migration in MIGRATIONS:
                if name not in done:
                    migration(conn)
                    conn.execute("INSERT INTO migrations (name) VALUES (?)", (name,))
                    applied.append(name)
        return applied
