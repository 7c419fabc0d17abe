"""The portal's own SQLite file (``portal.db`` beside the store's ``meta.db``): sign-in accounts
(argon2 hashes), sessions (hashes of the cookie values), login failures, device status and pause
requests, policy versions and team labels.

It is kept apart from the store so the store's interface stays what every backend implements;
erasure removes a person's rows here too (``forget_person``), and ``secure_delete`` zeroes the
freed pages so a deleted hash or team label does not linger in the file.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Final, Protocol

from workprint.store.embedded.database import Conn, Database
from workprint.store.interface import StoreError

DB_NAME: Final = "portal.db"
_PERSON_TABLES: Final = ("accounts", "sessions", "pause_requests", "device_status")
DDL: Final = """
CREATE TABLE IF NOT EXISTS accounts (
    person_id TEXT PRIMARY KEY,
    login TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    team TEXT NOT NULL DEFAULT '',
    created_ns INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
    hash BLOB PRIMARY KEY,            -- SHA-256 of the cookie value; the value itself is not kept
    person_id TEXT NOT NULL,
    csrf TEXT NOT NULL,
    created_ns INTEGER NOT NULL,
    expires_ns INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS sessions_person ON sessions (person_id);
CREATE TABLE IF NOT EXISTS login_failures (
    login TEXT PRIMARY KEY,
    failures INTEGER NOT NULL,
    first_ns INTEGER NOT NULL,
    locked_until_ns INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS pause_requests (
    person_id TEXT PRIMARY KEY,
    paused INTEGER NOT NULL,
    t INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS device_status (
    device_id TEXT PRIMARY KEY,
    person_id TEXT NOT NULL,
    state TEXT NOT NULL,
    scopes TEXT NOT NULL,
    seen_ns INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS policy_versions (
    version INTEGER PRIMARY KEY,
    text TEXT NOT NULL,
    author TEXT NOT NULL,
    note TEXT NOT NULL,
    created_ns INTEGER NOT NULL
);
"""


class PortalDB(Protocol):
    """Where the portal keeps its tables: ``SqlitePortalDB`` beside the embedded store, or
    ``SharedPortalDB`` in the shared store's PostgreSQL database. The SQL is the same."""

    def write(self) -> AbstractContextManager[Conn]: ...
    def read(self) -> AbstractContextManager[Conn]: ...
    def forget_person(self, person_id: str) -> None: ...
    def close(self) -> None: ...


class SqlitePortalDB:
    """One connection guarded by a lock: the portal's writes are few and small."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        target = ":memory:" if path is None else str(path)
        if path is not None and not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        try:
            self._conn = sqlite3.connect(
                target, isolation_level=None, check_same_thread=False, timeout=30.0
            )
            self._conn.execute("PRAGMA journal_mode = WAL")
            self._conn.execute("PRAGMA synchronous = FULL")
            self._conn.execute("PRAGMA secure_delete = ON")
            self._conn.executescript(DDL)
        except sqlite3.Error as exc:
            raise StoreError(f"portal database {target}: {exc}") from None
        self._lock = threading.RLock()

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    yield self._conn
                    self._conn.execute("COMMIT")
                except BaseException:
                    if self._conn.in_transaction:
                        self._conn.execute("ROLLBACK")
                    raise
            except sqlite3.Error as exc:
                raise StoreError(f"portal database: {exc}") from None

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                yield self._conn
            except sqlite3.Error as exc:
                raise StoreError(f"portal database: {exc}") from None

    def forget_person(self, person_id: str) -> None:
        """Erasure: the person's account, sessions, device status and pause request go, and the
        file is checkpointed so the deleted pages leave the WAL."""
        with self.write() as conn:
            for table in _PERSON_TABLES:
                conn.execute(f"DELETE FROM {table} WHERE person_id = ?", (person_id,))
        with self.read() as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def open_portal_db(data_dir: Path | None) -> PortalDB:
    return SqlitePortalDB(None if data_dir is None else data_dir / DB_NAME)


class SharedPortalDB:
    """The portal's tables in the shared store's PostgreSQL database (migration 0002): every
    collector behind the load balancer sees the same accounts, sessions and pause requests.
    Its own connections, without the store's writers' lock: each portal write is one atomic
    upsert or delete that needs no ordering against ingest (a heartbeat every few seconds
    from every device would otherwise queue behind batch commits)."""

    def __init__(self, database: Database) -> None:
        self._db = database

    @classmethod
    def open(cls, url: str) -> SharedPortalDB:
        from workprint.store.postgres.database import PostgresDatabase

        return cls(PostgresDatabase(url, serialise_writers=False))

    def write(self) -> AbstractContextManager[Conn]:
        return self._db.write()

    def read(self) -> AbstractContextManager[Conn]:
        return self._db.snapshot()

    def forget_person(self, person_id: str) -> None:
        with self.write() as conn:
            for table in _PERSON_TABLES:
                conn.execute(f"DELETE FROM {table} WHERE person_id = ?", (person_id,))

    def close(self) -> None:
        self._db.close()


def portal_db_for(store: object, data_dir: Path | None) -> PortalDB:
    """The portal's tables for ``store``: in its PostgreSQL database when it has one, else the
    SQLite file in ``data_dir`` (in memory without one)."""
    url = shared_database_url(store)
    return SharedPortalDB.open(url) if url is not None else open_portal_db(data_dir)


def existing_portal_db(store: object) -> PortalDB | None:
    """The portal's tables of ``store`` if a portal can have run there — always on the shared
    backend, where a file beside the embedded store exists — else None: asking creates
    nothing."""
    root = getattr(store, "root", None)
    if shared_database_url(store) is None and (root is None or not (root / DB_NAME).is_file()):
        return None
    return portal_db_for(store, root)


def shared_database_url(store: object) -> str | None:
    """The PostgreSQL URL of a store on the shared backend; None for the embedded one."""
    url = getattr(getattr(store, "database", None), "url", None)
    if isinstance(url, str) and url.startswith(("postgresql://", "postgres://")):
        return url
    return None
