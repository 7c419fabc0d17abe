"""Which backend the store tests run on.

By default the embedded store (SQLite + files in one directory). With
``WORKPRINT_TEST_BACKEND=shared`` the same tests run on the shared backend: one PostgreSQL
cluster (Debian's packages) and one S3 server (moto's) started for the whole test session on
127.0.0.1, with a fresh database and a fresh bucket prefix per store directory — so a test
that reopens its directory finds its store again, and no two tests see each other's data.
``./run test`` runs the suite's backend-independent store, collector and build tests a second
time this way.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Final

import pytest

if TYPE_CHECKING:
    from workprint.crypto.envelope import MasterKey
    from workprint.store.embedded import EmbeddedStore
    from workprint.testbed.postgres import PostgresServer
    from workprint.testbed.s3 import S3Server

BACKEND: Final = os.environ.get("WORKPRINT_TEST_BACKEND", "embedded")
SHARED: Final = BACKEND == "shared"
BUCKET: Final = "workprint-tests"


class SharedServers:
    """The session's PostgreSQL and S3 servers, started on first use, stopped at exit."""

    def __init__(self) -> None:
        from workprint.testbed.postgres import PostgresServer
        from workprint.testbed.s3 import S3Server

        self.pg: PostgresServer = PostgresServer()
        self.s3: S3Server = S3Server()
        self.pg.__enter__()
        try:
            self.s3.__enter__()
            self.s3.create_bucket(BUCKET)
        except BaseException:
            self.pg.__exit__(None, None, None)
            raise
        atexit.register(self.close)
        os.environ.update(self.s3.environ())  # S3Blobs reads the endpoint from the environment
        self._databases: set[str] = set()
        self._lock = threading.Lock()

    def environ_for(self, data: Path) -> dict[str, str]:
        """The variables that point a store (or a `workprint` process) at ``data``'s own
        database and bucket prefix, creating the database the first time."""
        name = "wp_" + hashlib.sha256(str(data.resolve()).encode()).hexdigest()[:20]
        with self._lock:
            if name not in self._databases:
                self._create_database(name)
                self._databases.add(name)
        url = self.pg.url.rsplit("/", 1)[0] + f"/{name}"
        return {
            "WORKPRINT_DATABASE": url,
            "WORKPRINT_OBJECTS": f"s3://{BUCKET}/{name}",
            **self.s3.environ(),
        }

    def _create_database(self, name: str) -> None:
        import psycopg

        with psycopg.connect(self.pg.admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}" OWNER "{self.pg.user}"')

    def close(self) -> None:
        self.s3.__exit__(None, None, None)
        self.pg.__exit__(None, None, None)


_servers: SharedServers | None = None
_servers_lock = threading.Lock()


def servers() -> SharedServers:
    global _servers
    with _servers_lock:
        if _servers is None:
            _servers = SharedServers()
        return _servers


def backend_environ(data: Path) -> dict[str, str]:
    """Extra environment for a `workprint` subprocess working on the store in ``data``."""
    return servers().environ_for(data) if SHARED else {}


def open_backend_store(data: Path, master: MasterKey) -> EmbeddedStore:
    """The store in ``data`` on the backend this test session runs on."""
    if not SHARED:
        from workprint.store.embedded import EmbeddedStore

        return EmbeddedStore.open(data, master)
    return open_shared_store(data, master)


def open_shared_store(data: Path, master: MasterKey) -> EmbeddedStore:
    """The store of ``data`` on the shared backend (its own database and bucket prefix),
    whatever backend the session runs on."""
    from workprint.store.backends import open_store

    env = servers().environ_for(data)
    return open_store(
        data, master, database=env["WORKPRINT_DATABASE"], objects=env["WORKPRINT_OBJECTS"]
    )


def bucket_files(store: EmbeddedStore, under: str = "") -> list[str]:
    """The objects (``bucket/prefix/…`` paths) under the shared store's prefix (``/under``)."""
    import pyarrow.fs as pafs

    location = store.storage.location
    assert location.startswith(f"s3://{BUCKET}/"), location
    root = location.removeprefix("s3://") + (f"/{under}" if under else "")
    try:
        infos = servers().s3.filesystem().get_file_info(pafs.FileSelector(root, recursive=True))
    except FileNotFoundError:  # nothing (left) under it
        return []
    return [info.path for info in infos if info.type == pafs.FileType.File]


def open_store_here(data: Path, master: MasterKey) -> EmbeddedStore:
    """In a subprocess a test started with ``backend_environ``: the store its environment names
    (``WORKPRINT_DATABASE``/``WORKPRINT_OBJECTS``), else the embedded one in ``data``."""
    from workprint.store.backends import configured, open_store

    database, objects = configured(None, None)
    return open_store(data, master, database=database, objects=objects)


embedded_only = pytest.mark.skipif(
    SHARED,
    reason="inspects the embedded layout (the SQLite file or the local event files); "
    "tests/test_shared_store.py checks the same property on PostgreSQL and S3",
)


def referenced_and_stored(store: EmbeddedStore) -> tuple[set[str], set[str]]:
    """The event files the metadata names, and those that exist (local files or objects)."""
    with store._read() as conn:
        referenced = {path for (path,) in conn.execute("SELECT path FROM files")}
    location = store.storage.location
    if location.startswith("s3://"):
        prefix = location.removeprefix("s3://") + "/"
        stored = {path.removeprefix(prefix) for path in bucket_files(store, "events")}
    else:
        stored = {
            p.relative_to(store.root).as_posix()
            for p in (store.root / "events").rglob("*")
            if p.is_file()
        }
    return referenced, stored


def write_lock(store: EmbeddedStore) -> threading.RLock:
    """The lock every write of this process takes first (SQLite's or PostgreSQL's adapter)."""
    lock: threading.RLock = getattr(store.database, "_lock")  # noqa: B009
    return lock
