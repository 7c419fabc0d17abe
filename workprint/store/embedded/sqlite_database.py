"""``SqliteDatabase``: the embedded default's metadata, one SQLite file in the data directory.

One connection writes for the process, guarded by a lock; every write is one ``BEGIN
IMMEDIATE`` transaction, so concurrent processes on the same directory (two collectors, or a
collector and an admin command) serialise on SQLite's own lock. Hot reads use per-thread
read-only connections (``Snapshots``) that never wait for the writer.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from workprint.crypto.envelope import MasterKey
from workprint.store.embedded.schema import (
    DB_NAME,
    SIDE_FILES,
    connect,
    scrub,
    sqlite_errors,
    tighten_permissions,
)
from workprint.store.embedded.snapshot import Snapshots
from workprint.store.interface import StoreError

log = logging.getLogger(__name__)


class SqliteDatabase:
    """Use ``SqliteDatabase.open``; ``audit_key`` is the store's (unwrapped) audit key."""

    def __init__(self, path: Path, conn: sqlite3.Connection, audit_key: bytes) -> None:
        self.path = path
        self.audit_key = audit_key
        self._conn: sqlite3.Connection | None = conn
        self._lock = threading.RLock()
        self._snapshots = Snapshots(path)

    @classmethod
    def open(cls, root: Path, master: MasterKey) -> SqliteDatabase:
        conn, audit_key = connect(root, master)
        return cls(root / DB_NAME, conn, audit_key)

    @property
    def location(self) -> str:
        return str(self.path)

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreError(f"store {self.path.parent} is closed")
        return self._conn

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        with self._lock, sqlite_errors(self.path):
            conn = self._db()
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:  # SQLite may have rolled back already (disk full)
                    conn.execute("ROLLBACK")
                raise

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        with self._lock, sqlite_errors(self.path):
            yield self._db()

    @contextmanager
    def snapshot(self) -> Iterator[sqlite3.Connection]:
        with sqlite_errors(self.path):
            yield self._snapshots.get()

    def scrub(self) -> bool:
        """Rebuild the database and empty the WAL so no old page image (a destroyed key, a
        name) survives in any file."""
        try:
            with self.read() as conn:
                if scrub(conn):
                    return True
        finally:
            tighten_permissions(self.path)
        log.warning(
            "erasure committed, but a reader kept the WAL busy: old page images stay in %s-wal "
            "until the next checkpoint (at the latest when the store is closed)",
            self.path,
        )
        return False

    def metadata_bytes(self) -> int:
        total = 0
        for suffix in ("", *SIDE_FILES):
            with suppress(FileNotFoundError):
                total += os.stat(f"{self.path}{suffix}").st_size
        return total

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                conn, self._conn = self._conn, None
                self._snapshots.close()
                with suppress(sqlite3.Error):
                    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                conn.close()
