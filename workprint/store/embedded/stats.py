"""What the store holds, in numbers (for `workprint admin status` and the benchmark)."""

from __future__ import annotations

import msgspec

from workprint.store.embedded.database import Conn


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


def collect_stats(conn: Conn, metadata_bytes: int) -> StoreStats:
    def one(sql: str) -> int:
        value = conn.execute(sql).fetchone()[0]
        return int(value or 0)

    return StoreStats(
        people=one("SELECT count(*) FROM people"),
        erased=one("SELECT count(*) FROM people WHERE erased_ns IS NOT NULL"),
        devices=one("SELECT count(*) FROM devices"),
        files=one("SELECT count(*) FROM files"),
        events=one("SELECT sum(rows) FROM files"),
        event_bytes=one("SELECT sum(bytes) FROM files"),
        metadata_bytes=metadata_bytes,
        batches=one("SELECT count(*) FROM batches"),
        rejected_consent=one("SELECT sum(rejected_consent) FROM batches"),
        bad_rows=one("SELECT count(*) FROM bad_rows"),
    )
