"""A PostgreSQL server for tests (Debian's packages, started by the test itself) and fresh
databases on it, so tests that share one server never see each other's tables.

Use it from a test module as a module-scoped fixture::

    @pytest.fixture(scope="module")
    def pg() -> Iterator[PostgresServer]:
        yield from postgres_server()
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator, Mapping

import psycopg
from psycopg import sql

from workprint.crypto.envelope import LocalMasterKey
from workprint.store.embedded.schema import insert_meta, verify_meta
from workprint.store.postgres.database import PostgresDatabase
from workprint.testbed.postgres import PostgresServer

# the benchmark's setting: statements counted server-side by pg_stat_statements
STAT_STATEMENTS: dict[str, str] = {"shared_preload_libraries": "pg_stat_statements"}


def postgres_server(settings: Mapping[str, str] | None = None) -> Iterator[PostgresServer]:
    """A running server for the duration of the fixture; its directory is removed after."""
    with PostgresServer(settings=settings) as server:
        yield server


def new_database(server: PostgresServer, owner: str | None = None) -> str:
    """Create an empty database owned by ``owner`` (default: the server's application role)
    and return its URL with that role's credentials."""
    name = f"wp_{secrets.token_hex(6)}"
    role = owner or server.user
    with psycopg.connect(server.admin_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE DATABASE {} OWNER {}").format(
                sql.Identifier(name), sql.Identifier(role)
            )
        )
    return server.url.rsplit("/", 1)[0] + f"/{name}"


def new_role(server: PostgresServer, name: str) -> str:
    """A login role with a random password and no extra privileges; returns the password."""
    password = secrets.token_urlsafe(12)
    with psycopg.connect(server.admin_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                sql.Identifier(name), sql.Literal(password)
            )
        )
    return password


def url_for(server: PostgresServer, database_url: str, user: str, password: str) -> str:
    """``database_url`` with another role's credentials."""
    database = database_url.rsplit("/", 1)[1]
    return f"postgresql://{user}:{password}@127.0.0.1:{server.port}/{database}"


def migrate_in_process(url: str) -> str:
    """A worker for ``multiprocessing``: migrate from a fresh process."""
    from workprint.store.postgres.schema import migrate

    return migrate(url)


def append_audit_entries(url: str, audit_key: bytes, actor: str, count: int) -> int:
    """A worker for ``multiprocessing``: ``count`` audit entries, one write transaction each,
    through the engine's own ``audit.append``; returns how many committed."""
    from workprint.store.embedded import audit
    from workprint.store.postgres.database import PostgresDatabase

    db = PostgresDatabase(url)
    try:
        for i in range(count):
            with db.write() as conn:
                audit.append(conn, audit_key, actor, "test.append", f"{actor}-{i}")
    finally:
        db.close()
    return count


def open_with_meta(url: str) -> tuple[PostgresDatabase, bytes]:
    """A migrated database with the engine's meta row; returns it and the audit key."""
    db = PostgresDatabase.open(url)
    master = LocalMasterKey(os.urandom(32), source="test")
    with db.write() as conn:
        insert_meta(conn, master)
    with db.read() as conn:
        return db, verify_meta(conn, db.location, master)
