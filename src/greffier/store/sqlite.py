"""The SQLite driver and the few SQL spellings every SQLite store shares."""

from __future__ import annotations

from collections.abc import Iterable

try:  # a build of SQLite that can load extensions (sqlite-vec); the stdlib's often cannot
    import pysqlite3.dbapi2 as sqlite3
except ImportError:  # pragma: no cover - platforms without the binary wheel
    import sqlite3

__all__ = ["EMBEDDING_DIM", "NOW", "id_list", "sqlite3"]

EMBEDDING_DIM = 384  # multilingual-e5-small; a store for another size needs its own migration

# The current time as stored everywhere: ISO 8601, UTC, milliseconds ("…T12:03:04.567Z"),
# so that text order is time order.
NOW = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"


def id_list(values: Iterable[int]) -> str:
    """Integers as an SQL list, inlined: never user text (each value goes through int()),
    and sqlite-vec's KNN needs a literal IN list. NULL when empty, which matches nothing."""
    return ",".join(str(int(v)) for v in values) or "NULL"
