"""Moving a one-PC installation's SQLite database into PostgreSQL (`greffier db migrate`):
the operator's use case; the copying and its proof are store/postgres/transfer.py's."""

from __future__ import annotations

from collections.abc import Callable

from greffier.errors import ConfigError
from greffier.settings import Settings
from greffier.store.postgres.transfer import TransferReport


def move_to_postgresql(
    settings: Settings, url: str, progress: Callable[[str, int, int], None]
) -> TransferReport:
    from greffier.store.database import Database
    from greffier.store.postgres.database import PgDatabase
    from greffier.store.postgres.transfer import transfer

    if not settings.database_path.is_file():
        raise ConfigError(f"There is no SQLite database at {settings.database_path}.")
    source = Database(settings.database_path)
    target = PgDatabase(url, pool_size=2)
    try:
        return transfer(source, target, progress)
    finally:
        target.close()
