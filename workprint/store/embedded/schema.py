"""The embedded store's metadata database: one SQLite file (WAL, synchronous=FULL, owner-only).

It holds people, devices, credential hashes, consents, wrapped data keys, the event-file index,
the de-duplication state, sealed bad rows and the audit chain. Event content never enters it.
``secure_delete`` zeroes freed pages so erased rows do not linger inside the file, and temporary
tables stay in memory so nothing spills into /tmp.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import stat
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Final

from workprint.crypto.envelope import MasterKey, MasterKeyError, new_data_key
from workprint.store.embedded.database import Conn
from workprint.store.interface import StoreError

SCHEMA: Final = 1
APPLICATION_ID: Final = 0x77707374  # "wpst"
DB_NAME: Final = "meta.db"
SIDE_FILES: Final = ("-wal", "-shm")
MASTER_CHECK_AAD: Final = b"store master check"
AUDIT_KEY_AAD: Final = b"store audit anchor key"
GENESIS_HASH: Final = "0" * 64

DDL: Final = """
CREATE TABLE meta (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    schema INTEGER NOT NULL,
    created_ns INTEGER NOT NULL,
    master_check BLOB NOT NULL,       -- a random key wrapped by the master key: proves it at open
    audit_key BLOB NOT NULL,          -- wrapped HMAC key that anchors the audit chain
    audit_head_id INTEGER NOT NULL,
    audit_head_hash TEXT NOT NULL,
    audit_head_mac BLOB NOT NULL
);
CREATE TABLE people (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,               -- emptied on erasure
    role TEXT NOT NULL,
    bucket TEXT NOT NULL UNIQUE,      -- random, names the person's event directories
    created_ns INTEGER NOT NULL,
    erased_ns INTEGER
);
CREATE TABLE data_keys (
    person_id TEXT PRIMARY KEY,
    wrapped BLOB NOT NULL,
    created_ns INTEGER NOT NULL
);
CREATE TABLE devices (
    id TEXT PRIMARY KEY,
    person_id TEXT NOT NULL,
    name TEXT NOT NULL,
    created_ns INTEGER NOT NULL,
    revoked_ns INTEGER
);
CREATE INDEX devices_person ON devices (person_id);
CREATE TABLE credentials (
    hash BLOB PRIMARY KEY,            -- SHA-256 of a 32-byte random token
    kind TEXT NOT NULL CHECK (kind IN ('device', 'api')),
    person_id TEXT NOT NULL,
    device_id TEXT,
    created_ns INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX credentials_person ON credentials (person_id);
CREATE TABLE enrollment_codes (
    hash BLOB PRIMARY KEY,
    person_id TEXT NOT NULL,
    created_ns INTEGER NOT NULL,
    expires_ns INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE consents (
    id INTEGER PRIMARY KEY,
    person_id TEXT NOT NULL,
    t INTEGER NOT NULL,
    action TEXT NOT NULL CHECK (action IN ('grant', 'revoke')),
    scopes TEXT NOT NULL,             -- JSON array
    policy_version INTEGER NOT NULL,
    recorded_ns INTEGER NOT NULL
);
CREATE INDEX consents_person ON consents (person_id, t, id);
CREATE TABLE batches (
    source TEXT NOT NULL,             -- device id, or "person:<id>" for a personal token
    batch_id TEXT NOT NULL,
    person_id TEXT NOT NULL,
    received_ns INTEGER NOT NULL,
    events INTEGER NOT NULL,
    accepted INTEGER NOT NULL,
    duplicates INTEGER NOT NULL,
    rejected INTEGER NOT NULL,
    rejected_consent INTEGER NOT NULL,
    PRIMARY KEY (source, batch_id)
) WITHOUT ROWID;
CREATE INDEX batches_received ON batches (received_ns);
CREATE TABLE seq_ranges (
    source TEXT NOT NULL,
    lo INTEGER NOT NULL,
    hi INTEGER NOT NULL,              -- inclusive, and ranges of one source never touch or overlap
    PRIMARY KEY (source, lo)
) WITHOUT ROWID;
CREATE INDEX seq_ranges_hi ON seq_ranges (source, hi);
CREATE TABLE files (
    id TEXT PRIMARY KEY,
    person_id TEXT NOT NULL,
    day TEXT NOT NULL,
    path TEXT NOT NULL UNIQUE,        -- relative to the data directory
    rows INTEGER NOT NULL,
    t_min INTEGER NOT NULL,
    t_max INTEGER NOT NULL,
    bytes INTEGER NOT NULL,
    created_ns INTEGER NOT NULL
);
CREATE INDEX files_person ON files (person_id, t_min);
CREATE INDEX files_day ON files (day, person_id);
CREATE INDEX files_t_max ON files (t_max);
CREATE TABLE bad_rows (
    id INTEGER PRIMARY KEY,
    person_id TEXT NOT NULL,
    source TEXT NOT NULL,
    batch_id TEXT NOT NULL,
    idx INTEGER NOT NULL,
    received_ns INTEGER NOT NULL,
    sealed BLOB NOT NULL              -- reason and raw bytes, sealed with the person's key
);
CREATE INDEX bad_rows_person ON bad_rows (person_id, id);
CREATE TABLE audit (
    id INTEGER PRIMARY KEY,
    t INTEGER NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    details TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL,
    mac BLOB NOT NULL                 -- HMAC of hash under the audit key (needs the master key)
);
"""


@contextlib.contextmanager
def sqlite_errors(path: Path) -> Iterator[None]:
    """Turn SQLite's exceptions into a one-line ``StoreError`` naming the file."""
    try:
        yield
    except sqlite3.Error as exc:
        message = " ".join(str(exc).split()) or type(exc).__name__
        if "file is not a database" in message:
            raise StoreError(f"{path} is not a workprint store ({message})") from None
        raise StoreError(f"store {path}: {message}") from None


def connect(data_dir: Path, master: MasterKey) -> tuple[sqlite3.Connection, bytes]:
    """Open (creating if missing) the metadata database; returns it and the audit key."""
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    info = data_dir.stat()
    if stat.S_IMODE(info.st_mode) & 0o077 and info.st_uid == os.getuid():
        os.chmod(data_dir, 0o700)  # nothing in the store is for other users' eyes
    path = data_dir / DB_NAME
    _create_empty(path)
    with sqlite_errors(path):
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30.0)
    try:
        with sqlite_errors(path):
            audit_key = _prepare(conn, path, master)
        tighten_permissions(path)
    except BaseException:
        conn.close()
        raise
    return conn, audit_key


def _create_empty(path: Path) -> None:
    """Create the database owner-only before SQLite does; its side files copy the mode."""
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        return
    except OSError as exc:
        raise StoreError(f"cannot create store {path}: {exc.strerror}") from None
    os.close(fd)


def _prepare(conn: sqlite3.Connection, path: Path, master: MasterKey) -> bytes:
    app_id = conn.execute("PRAGMA application_id").fetchone()[0]
    n_objects = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
    if not (n_objects == 0 and app_id == 0) and app_id != APPLICATION_ID:
        raise StoreError(f"{path} is not a workprint store (an SQLite database of another kind)")
    mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
    if str(mode).lower() != "wal":
        raise StoreError(f"store {path}: cannot switch to WAL mode (got {mode})")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA secure_delete = ON")
    conn.execute("PRAGMA temp_store = MEMORY")
    conn.execute("PRAGMA foreign_keys = OFF")
    conn.execute("BEGIN IMMEDIATE")
    try:
        if conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0:
            _initialise(conn, master)
        audit_key = _verify(conn, path, master)
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return audit_key


def _initialise(conn: sqlite3.Connection, master: MasterKey) -> None:
    for statement in DDL.split(";"):
        if statement.strip():
            conn.execute(statement)
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    conn.execute(f"PRAGMA user_version = {SCHEMA}")
    insert_meta(conn, master)


def insert_meta(conn: Conn, master: MasterKey) -> None:
    """The store's one meta row: proof of the master key and the wrapped audit key. Portable
    SQL: the PostgreSQL backend runs it after its migrations."""
    from workprint.store.embedded.audit import head_mac

    audit_key = new_data_key()
    conn.execute(
        "INSERT INTO meta (id, schema, created_ns, master_check, audit_key, audit_head_id,"
        " audit_head_hash, audit_head_mac) VALUES (1, ?, ?, ?, ?, 0, ?, ?)",
        (
            SCHEMA,
            time.time_ns(),
            master.wrap(new_data_key(), MASTER_CHECK_AAD),
            master.wrap(audit_key, AUDIT_KEY_AAD),
            GENESIS_HASH,
            head_mac(audit_key, 0, GENESIS_HASH),
        ),
    )


def _verify(conn: sqlite3.Connection, path: Path, master: MasterKey) -> bytes:
    try:
        return verify_meta(conn, str(path), master)
    except sqlite3.OperationalError:
        raise StoreError(f"{path} is not a workprint store (no meta record)") from None


def verify_meta(conn: Conn, where: str, master: MasterKey) -> bytes:
    """Check the schema version and that ``master`` is the store's key; returns the audit key."""
    row = conn.execute("SELECT schema, master_check, audit_key FROM meta WHERE id = 1").fetchone()
    if row is None:
        raise StoreError(f"{where} is not a workprint store (no meta record)")
    schema, check, wrapped_audit_key = row
    if not isinstance(schema, int) or schema > SCHEMA:
        raise StoreError(f"store {where} has schema {schema}; this workprint reads up to {SCHEMA}")
    try:
        master.unwrap(bytes(check), MASTER_CHECK_AAD)
        return master.unwrap(bytes(wrapped_audit_key), AUDIT_KEY_AAD)
    except MasterKeyError:
        raise StoreError(f"store {where} was created with a different master key") from None


def tighten_permissions(path: Path) -> None:
    """Make the database and its WAL/shm files owner-only if anything widened them."""
    for name in (path, *(Path(f"{path}{suffix}") for suffix in SIDE_FILES)):
        try:
            info = os.stat(name)
        except FileNotFoundError:
            continue
        if stat.S_IMODE(info.st_mode) & 0o077 and info.st_uid == os.getuid():
            os.chmod(name, 0o600)


def checkpoint_truncate(conn: sqlite3.Connection) -> bool:
    """Fold the WAL into the database and truncate it to zero bytes: old page images (say, of a
    destroyed key) then exist nowhere in the directory. False if a reader kept it busy."""
    for _ in range(50):
        busy, _, _ = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        if not busy:
            return True
        time.sleep(0.02)
    return False


def scrub(conn: sqlite3.Connection) -> bool:
    """Rebuild the database (``VACUUM``) and empty the WAL, so that no old page image survives
    in any file; False if a reader kept the WAL busy."""
    checkpoint_truncate(conn)
    conn.execute("VACUUM")
    return checkpoint_truncate(conn)
