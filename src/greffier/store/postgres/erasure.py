"""The erasure census on PostgreSQL: full text and vectors are columns of ``chunks``."""

from __future__ import annotations

from typing import ClassVar

from greffier.store.erasure import ErasureStore


class PgErasureStore(ErasureStore):
    index_tables: ClassVar[dict[str, str]] = {}
