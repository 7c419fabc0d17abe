"""The spool's on-disk form: one SQLite file in WAL mode, owner-only, recognised by its
application id and unlocked by a sealed check value, so a wrong file or a wrong key is refused
at open with one line instead of failing somewhere later."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import stat
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Final

from workprint.crypto import DecryptionError, open_sealed, seal
from workprint.errors import WorkprintError

SCHEMA: Final = 1
APPLICATION_ID: Final = 0x77707370  # "wpsp"
SQLITE_MAGIC: Final = b"SQLite format 3\x00"
CHECK_PLAINTEXT: Final = b"workprint spool key check v1"
CHECK_AAD: Final = b"workprint spool meta.key_check"
DEVICE_AAD: Final = b"workprint spool meta.device_id"
SIDE_FILES: Final = ("-wal", "-shm")

DDL: Final = """
CREATE TABLE meta (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    schema INTEGER NOT NULL,
    device_id BLOB NOT NULL, -- sealed: the id may also appear inside events
    next_seq INTEGER NOT NULL,
    dropped_events INTEGER NOT NULL DEFAULT 0,
    dropped_batches INTEGER NOT NULL DEFAULT 0,
    held_bytes INTEGER NOT NULL DEFAULT 0,
    created_ns INTEGER NOT NULL,
    key_check BLOB NOT NULL
);
-- key_id NULL: sealed with the device key. Room for per-person data keys (envelope encryption).
CREATE TABLE batches (
    id INTEGER PRIMARY KEY,
    batch_id TEXT NOT NULL UNIQUE,
    created_ns INTEGER NOT NULL,
    first_seq INTEGER NOT NULL,
    last_seq INTEGER NOT NULL,
    n_events INTEGER NOT NULL,
    n_bytes INTEGER NOT NULL,
    key_id TEXT,
    payload BLOB NOT NULL
);
CREATE INDEX batches_first_seq ON batches (first_seq, id);
CREATE INDEX batches_created ON batches (created_ns);
CREATE TABLE quarantine (
    id INTEGER PRIMARY KEY,
    batch_id TEXT NOT NULL,
    reason TEXT NOT NULL,
    created_ns INTEGER NOT NULL,
    quarantined_ns INTEGER NOT NULL,
    first_seq INTEGER NOT NULL,
    last_seq INTEGER NOT NULL,
    n_events INTEGER NOT NULL,
    n_bytes INTEGER NOT NULL,
    key_id TEXT,
    payload BLOB NOT NULL
);
"""


class SpoolError(WorkprintError):
    """The spool cannot be used: not a spool, corrupt, wrong key or device, unwritable."""


@contextlib.contextmanager
def sqlite_errors(path: Path) -> Iterator[None]:
    """Turn SQLite's exceptions into a one-line ``SpoolError`` naming the file."""
    try:
        yield
    except sqlite3.DatabaseError as exc:
        message = " ".join(str(exc).split()) or type(exc).__name__
        if "file is not a database" in message:
            raise SpoolError(f"{path} is not a workprint spool ({message})") from None
        raise SpoolError(f"spool {path}: {message}") from None
    except sqlite3.Error as exc:
        raise SpoolError(f"spool {path}: {' '.join(str(exc).split())}") from None


def connect(path: Path, key: bytes, device_id: str) -> sqlite3.Connection:
    """Open (creating if missing) and verify the spool at ``path``; the caller owns the result."""
    _create_empty(path)
    _check_header(path)
    with sqlite_errors(path):
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30.0)
    try:
        with sqlite_errors(path):
            _prepare(conn, path, key, device_id)
        tighten_permissions(path)
    except BaseException:
        conn.close()
        raise
    return conn


def _create_empty(path: Path) -> None:
    """Create the database file owner-only before SQLite does; its side files copy its mode."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        return
    except OSError as exc:
        raise SpoolError(f"cannot create spool {path}: {exc.strerror}") from None
    os.close(fd)


def _check_header(path: Path) -> None:
    try:
        with open(path, "rb") as fh:
            head = fh.read(len(SQLITE_MAGIC))
    except OSError as exc:
        raise SpoolError(f"cannot read spool {path}: {exc.strerror}") from None
    if head and head != SQLITE_MAGIC:
        raise SpoolError(f"{path} is not a workprint spool (not an SQLite database)")


def _prepare(conn: sqlite3.Connection, path: Path, key: bytes, device_id: str) -> None:
    # Identify the file before changing anything in it (journal mode included).
    app_id = conn.execute("PRAGMA application_id").fetchone()[0]
    n_objects = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
    is_new = n_objects == 0 and app_id == 0
    if not is_new and app_id != APPLICATION_ID:
        raise SpoolError(f"{path} is not a workprint spool (an SQLite database of another kind)")
    if is_new:
        conn.execute("PRAGMA auto_vacuum = INCREMENTAL")
    mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
    if str(mode).lower() != "wal":
        raise SpoolError(f"spool {path}: cannot switch to WAL mode (got {mode})")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("BEGIN IMMEDIATE")
    try:
        if conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0:
            _initialise(conn, key, device_id)
        _verify(conn, path, key, device_id)
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _initialise(conn: sqlite3.Connection, key: bytes, device_id: str) -> None:
    for statement in DDL.split(";"):
        if statement.strip():
            conn.execute(statement)
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    conn.execute(f"PRAGMA user_version = {SCHEMA}")
    conn.execute(
        "INSERT INTO meta (id, schema, device_id, next_seq, created_ns, key_check)"
        " VALUES (1, ?, ?, 1, ?, ?)",
        (
            SCHEMA,
            seal(key, device_id.encode(), DEVICE_AAD),
            time.time_ns(),
            seal(key, CHECK_PLAINTEXT, CHECK_AAD),
        ),
    )


def _verify(conn: sqlite3.Connection, path: Path, key: bytes, device_id: str) -> None:
    try:
        row = conn.execute("SELECT schema, device_id, key_check FROM meta WHERE id = 1").fetchone()
    except sqlite3.OperationalError:
        row = None
    if row is None:
        raise SpoolError(f"{path} is not a workprint spool (no meta record)")
    schema, sealed_device, check = row
    if not isinstance(schema, int) or schema > SCHEMA:
        raise SpoolError(f"spool {path} has schema {schema}; this workprint reads up to {SCHEMA}")
    try:
        if open_sealed(key, bytes(check), CHECK_AAD) != CHECK_PLAINTEXT:
            raise DecryptionError("key check value differs")
        stored_device = open_sealed(key, bytes(sealed_device), DEVICE_AAD).decode()
    except (DecryptionError, TypeError, UnicodeDecodeError):
        raise SpoolError(f"spool {path} was sealed with a different device key") from None
    if stored_device != device_id:
        raise SpoolError(f"spool {path} belongs to device {stored_device}, not {device_id}")


def tighten_permissions(path: Path) -> None:
    """Make the database and its WAL/shm files owner-only if anything widened them."""
    for name in (path, *(Path(f"{path}{suffix}") for suffix in SIDE_FILES)):
        try:
            info = os.stat(name)
        except FileNotFoundError:
            continue
        if stat.S_IMODE(info.st_mode) & 0o077 and info.st_uid == os.getuid():
            os.chmod(name, 0o600)


def file_bytes(path: Path) -> int:
    """Bytes the spool takes on disk: database, WAL and shared-memory index."""
    total = 0
    for name in (path, *(Path(f"{path}{suffix}") for suffix in SIDE_FILES)):
        with contextlib.suppress(FileNotFoundError):
            total += os.stat(name).st_size
    return total
