"""What the store holds, in numbers (for `workprint admin status` and the benchmark)."""

from __future__ import annotations

import contextlib
import os
import sqlite3
from pathlib import Path

import msgspec

from workprint.store.embedded.schema import DB_NAME, SIDE_FILES


class StoreStats(msgspec.Struct, frozen=True, kw_only=True):
    people: int
    erased: int
    devices: int
    files: int
    events: int
    event_bytes: int  # sealed event files on disk
    metadata_bytes: int  # database, WAL and shared-memory index
    batches: int
    rejected_consent: int  # over the batches still remembered (retention forgets old ones)
    bad_rows: int


def collect_stats(conn: sqlite3.Connection, root: Path) -> StoreStats:
    def one(sql: str) -> int:
        value = conn.execute(sql).fetchone()[0]
        return int(value or 0)

    metadata = 0
    for suffix in ("", *SIDE_FILES):
        with contextlib.suppress(FileNotFoundError):
            metadata += os.stat(root / f"{DB_NAME}{suffix}").st_size
    return StoreStats(
        people=one("SELECT count(*) FROM people"),
        erased=one("SELECT count(*) FROM people WHERE erased_ns IS NOT NULL"),
        devices=one("SELECT count(*) FROM devices"),
        files=one("SELECT count(*) FROM files"),
        events=one("SELECT sum(rows) FROM files"),
        event_bytes=one("SELECT sum(bytes) FROM files"),
        metadata_bytes=metadata,
        batches=one("SELECT count(*) FROM batches"),
        rejected_consent=one("SELECT sum(rejected_consent) FROM batches"),
        bad_rows=one("SELECT count(*) FROM bad_rows"),
    )
