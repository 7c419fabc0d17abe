"""Read-only connections, one per thread, for reads that must not wait for the writer.

The store's own connection is shared and locked, and a group commit holds it across its fsync.
With the database in WAL mode a second connection reads the last committed state without
waiting for the writer: authentication on every request, and the part of ``ingest`` done before
a batch joins a group commit (which re-checks what it relied on), read here.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from workprint.store.interface import StoreError


class Snapshots:
    """Hands each thread its own read-only connection to the metadata database."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._local = threading.local()
        self._lock = threading.Lock()
        self._all: list[sqlite3.Connection] = []
        self._closed = False

    def get(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None and not self._closed:
            return conn
        with self._lock:
            if self._closed:
                raise StoreError(f"store {self._path.parent} is closed")
            conn = sqlite3.connect(
                self._path, isolation_level=None, check_same_thread=False, timeout=30.0
            )
            conn.execute("PRAGMA query_only = ON")
            conn.execute("PRAGMA temp_store = MEMORY")
            self._all.append(conn)
        self._local.conn = conn
        return conn

    def close(self) -> None:
        with self._lock:
            self._closed = True
            conns, self._all = self._all, []
        for conn in conns:
            conn.close()
