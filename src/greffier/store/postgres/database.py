"""PostgreSQL (psycopg 3 with a connection pool): the database every node of a cluster shares.

It offers the stores what the SQLite ``Database`` offers — ``query``, ``query_one``,
``scalar``, and ``write()`` transactions that nest on one thread — so that a store written
in SQL both databases understand runs on either. The differences are absorbed here:

- placeholders: stores write ``?`` and ``:name``; they become psycopg's ``%s`` and
  ``%(name)s`` (a literal ``%`` is doubled);
- time: columns are ``timestamptz``, read back as the same ISO 8601 UTC text SQLite stores
  ("2026-12-01T10:00:00.000Z"), so records are identical on both;
- rows answer both ``row[0]`` and ``row["name"]``, like ``sqlite3.Row``.

Migrations (``store/postgres/migrations.py``) run at start under an advisory lock, so
several processes starting at once apply each one exactly once.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

import psycopg
import psycopg_pool
from psycopg.adapt import Loader
from psycopg.rows import RowMaker

from greffier.errors import ConfigError

_PLACEHOLDER = re.compile(r"%|\?|(?<!:):([A-Za-z_]\w*)")
MIGRATION_LOCK = 0x67726566  # pg_advisory_lock key: "gref"


@lru_cache(maxsize=2048)
def translate(sql: str) -> str:
    """``?`` → ``%s``, ``:name`` → ``%(name)s``, ``%`` → ``%%`` (``::type`` casts stay)."""

    def swap(match: re.Match) -> str:
        if match[0] == "%":
            return "%%"
        if match[0] == "?":
            return "%s"
        return f"%({match[1]})s"

    return _PLACEHOLDER.sub(swap, sql)


class Row(tuple):
    """A result row: by position or by column name, with ``keys()``."""

    _names: tuple[str, ...] = ()

    def keys(self) -> tuple[str, ...]:
        return self._names

    def __getitem__(self, key):  # type: ignore[override]
        if isinstance(key, str):
            return tuple.__getitem__(self, self._names.index(key))
        return tuple.__getitem__(self, key)


def _row_factory(cursor: psycopg.Cursor) -> RowMaker[Row]:
    names = tuple(c.name for c in cursor.description or ())
    kind = type("Row", (Row,), {"_names": names})
    return lambda values: kind(values)


class _UtcText(Loader):
    """timestamptz, in a session whose time zone is UTC ('2026-12-01 10:00:00.123456+00'),
    as the text SQLite keeps ('2026-12-01T10:00:00.123Z')."""

    def load(self, data) -> str:
        text = bytes(data).decode()
        stamp = text[: text.rindex("+")] if "+" in text else text
        day, _, clock = stamp.partition(" ")
        seconds, _, fraction = clock.partition(".")
        return f"{day}T{seconds}.{(fraction + '000')[:3]}Z"


class Transaction:
    """The connection of a write transaction, as stores use it."""

    def __init__(self, conn: psycopg.Connection):
        self.conn = conn

    def execute(self, sql: str, params: Sequence | dict = ()) -> psycopg.Cursor:
        return self.conn.execute(translate(sql), params or None)

    def executemany(self, sql: str, params: Sequence) -> psycopg.Cursor:
        cursor = self.conn.cursor()
        cursor.executemany(translate(sql), params)
        return cursor


def _configure(conn: psycopg.Connection) -> None:
    conn.adapters.register_loader("timestamptz", _UtcText)
    try:
        from pgvector.psycopg import register_vector

        register_vector(conn)
    except psycopg.ProgrammingError:  # the extension is created by the first migration
        pass


class PgDatabase:
    dialect = "postgresql"
    now = "now()"

    def __init__(self, url: str, pool_size: int = 10, *, migrate: bool = True):
        self.url = url
        self._local = threading.local()
        if migrate:  # first: the pool's connections then know the types it creates
            self.migrate()
        self.pool = psycopg_pool.ConnectionPool(
            url,
            min_size=1,
            max_size=pool_size,
            kwargs={
                "autocommit": True,
                "row_factory": _row_factory,
                # UTC, so that timestamps read back as the text they were written as; HNSW
                # searches look further than their default 40 candidates, and keep looking
                # when the access filter removes most of them.
                "options": "-c timezone=UTC -c hnsw.ef_search=100 "
                "-c hnsw.iterative_scan=relaxed_order",
            },
            configure=_configure,
            open=False,
        )
        try:
            self.pool.open(wait=True, timeout=30)
        except psycopg_pool.PoolTimeout as exc:
            raise ConfigError(
                f"Cannot reach the PostgreSQL database of setting database_url ({_safe(url)}): "
                "check that it runs, the address, the user and the password."
            ) from exc

    # --- reading and writing ---------------------------------------------------------------

    @contextmanager
    def _connection(self) -> Iterator[psycopg.Connection]:
        current = getattr(self._local, "transaction", None)
        if current is not None:  # inside a write on this thread: read its own writes
            yield current.conn
            return
        with self.pool.connection() as conn:
            yield conn

    def query(self, sql: str, params: Sequence | dict = ()) -> list[Row]:
        with self._connection() as conn:
            return conn.execute(translate(sql), params or None).fetchall()

    def query_one(self, sql: str, params: Sequence | dict = ()) -> Row | None:
        with self._connection() as conn:
            return conn.execute(translate(sql), params or None).fetchone()

    def scalar(self, sql: str, params: Sequence | dict = ()) -> Any:
        row = self.query_one(sql, params)
        return row[0] if row is not None else None

    @contextmanager
    def write(self) -> Iterator[Transaction]:
        """A transaction: committed on success, rolled back on any error. Nested on the
        same thread, it joins the outer one."""
        current = getattr(self._local, "transaction", None)
        if current is not None:
            yield current
            return
        with self.pool.connection() as conn, conn.transaction():
            self._local.transaction = Transaction(conn)
            try:
                yield self._local.transaction
            finally:
                self._local.transaction = None

    def close(self) -> None:
        self.pool.close()

    # --- schema --------------------------------------------------------------------------

    def migrate(self) -> list[str]:
        """Apply the migrations not applied yet, under an advisory lock held by one process
        at a time (others wait, then find nothing left to do)."""
        from greffier.store.postgres.migrations import MIGRATIONS

        applied: list[str] = []
        try:
            conn = psycopg.connect(self.url, autocommit=True, connect_timeout=30)
        except psycopg.OperationalError as exc:
            raise ConfigError(
                f"Cannot reach the PostgreSQL database of setting database_url "
                f"({_safe(self.url)}): {str(exc).strip()}"
            ) from exc
        with conn:
            conn.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK,))
            try:
                conn.execute(
                    "CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, "
                    "applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
                )
                done = {r[0] for r in conn.execute("SELECT name FROM migrations")}
                for name, migration in MIGRATIONS:
                    if name in done:
                        continue
                    with conn.transaction():
                        migration(conn)
                        conn.execute("INSERT INTO migrations (name) VALUES (%s)", (name,))
                    applied.append(name)
                if conn.execute("SELECT to_regclass('procrastinate_jobs')").fetchone()[0] is None:
                    # The job queue's own tables, functions and triggers (procrastinate's).
                    from procrastinate.schema import SchemaManager

                    with conn.transaction():
                        conn.execute(SchemaManager.get_schema())
                    applied.append("job_queue")
            finally:
                conn.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK,))
        return applied


def _safe(url: str) -> str:
    """The URL without its password, for messages and logs."""
    return re.sub(r"//([^:/@]+):[^@]*@", r"//\1:***@", url)
