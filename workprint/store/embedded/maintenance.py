"""Erasure, retention and compaction: steps that run inside one write transaction.

Each returns the event files to unlink *after* the commit: a crash in between leaves files no
metadata references, which the next open removes; the reverse order could leave metadata
pointing at missing files.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc

from workprint.store.embedded import files
from workprint.store.embedded.blobs import Blobs
from workprint.store.embedded.database import Conn
from workprint.store.embedded.identity import require_person
from workprint.store.embedded.ingest import Written
from workprint.store.embedded.keys import DataKeys


@dataclass
class Outcome:
    events_deleted: int = 0
    files_rewritten: int = 0
    devices_revoked: int = 0
    key_destroyed: bool = False
    unlink: list[str] = field(default_factory=list)

    def summary(self, action: str) -> str:
        """The counts worth recording in the audit entry of ``action``."""
        if action == "person.forget":
            return (
                f"events_deleted={self.events_deleted} devices_revoked={self.devices_revoked}"
                f" key_destroyed={self.key_destroyed}"
            )
        return f"events_deleted={self.events_deleted} files_rewritten={self.files_rewritten}"


def erase(conn: Conn, keys: DataKeys, person_id: str) -> Outcome:
    """Delete everything of a person but the fact of their erasure, and destroy their key."""
    require_person(conn, person_id, live=False)
    now = time.time_ns()
    out = Outcome()
    rows = conn.execute("SELECT path, rows FROM files WHERE person_id = ?", (person_id,)).fetchall()
    out.unlink = [path for path, _ in rows]
    out.events_deleted = sum(n for _, n in rows)
    conn.execute("DELETE FROM files WHERE person_id = ?", (person_id,))
    devices = [
        (device_id, revoked)
        for device_id, revoked in conn.execute(
            "SELECT id, revoked_ns FROM devices WHERE person_id = ?", (person_id,)
        )
    ]
    out.devices_revoked = sum(1 for _, revoked in devices if revoked is None)
    conn.execute(
        "UPDATE devices SET name = '', revoked_ns = coalesce(revoked_ns, ?) WHERE person_id = ?",
        (now, person_id),
    )
    sources = [device_id for device_id, _ in devices] + [f"person:{person_id}"]
    conn.executemany("DELETE FROM seq_ranges WHERE source = ?", [(s,) for s in sources])
    for table in ("credentials", "enrollment_codes", "consents", "bad_rows", "batches"):
        conn.execute(f"DELETE FROM {table} WHERE person_id = ?", (person_id,))
    out.key_destroyed = keys.destroy(conn, person_id)
    conn.execute(
        "UPDATE people SET name = '', erased_ns = coalesce(erased_ns, ?) WHERE id = ?",
        (now, person_id),
    )
    return out


def retain(conn: Conn, storage: Blobs, keys: DataKeys, cutoff_ns: int, written: Written) -> Outcome:
    """Drop events with t < cutoff: whole files when all older, else rewrite the file."""
    out = Outcome()
    rows = conn.execute(
        "SELECT id, person_id, day, path, rows, t_min, t_max FROM files WHERE t_min < ?",
        (cutoff_ns,),
    ).fetchall()
    buckets = dict(conn.execute("SELECT id, bucket FROM people").fetchall())
    for file_id, person_id, day, path, n_rows, _t_min, t_max in rows:
        out.unlink.append(path)
        conn.execute("DELETE FROM files WHERE id = ?", (file_id,))
        if t_max < cutoff_ns:
            out.events_deleted += n_rows
            continue
        key = keys.get(conn, person_id)
        table = files.read_sealed(storage, key, path)
        kept = table.filter(pc.greater_equal(table.column("t"), cutoff_ns))
        out.events_deleted += n_rows - kept.num_rows
        out.files_rewritten += 1
        _insert(conn, storage, key, person_id, buckets[person_id], day, kept, written)
    conn.execute("DELETE FROM bad_rows WHERE received_ns < ?", (cutoff_ns,))
    conn.execute("DELETE FROM batches WHERE received_ns < ?", (cutoff_ns,))
    return out


def compact(conn: Conn, storage: Blobs, keys: DataKeys, day: str, written: Written) -> Outcome:
    """Merge each person's files of ``day`` into one sorted file."""
    out = Outcome()
    rows = conn.execute(
        "SELECT f.person_id, p.bucket, f.id, f.path FROM files f JOIN people p"
        " ON p.id = f.person_id WHERE f.day = ? ORDER BY f.person_id, f.t_min",
        (day,),
    ).fetchall()
    by_person: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for person_id, bucket, file_id, path in rows:
        by_person.setdefault((person_id, bucket), []).append((file_id, path))
    for (person_id, bucket), parts in by_person.items():
        if len(parts) < 2:
            continue
        key = keys.get(conn, person_id)
        tables = [files.read_sealed(storage, key, path) for _, path in parts]
        merged = pa.concat_tables(tables).sort_by([("t", "ascending"), ("seq", "ascending")])
        conn.executemany("DELETE FROM files WHERE id = ?", [(file_id,) for file_id, _ in parts])
        out.unlink.extend(path for _, path in parts)
        out.files_rewritten += len(parts)
        _insert(conn, storage, key, person_id, bucket, day, merged.combine_chunks(), written)
    return out


def _insert(
    conn: Conn,
    storage: Blobs,
    key: bytes,
    person_id: str,
    bucket: str,
    day: str,
    table: pa.Table,
    written: Written,
) -> None:
    if table.num_rows == 0:
        return
    file_id = files.new_file_id()
    rel, size = files.write_sealed(storage, key, table, day=day, bucket=bucket, file_id=file_id)
    written.paths.append(rel)
    t = table.column("t")
    conn.execute(
        "INSERT INTO files (id, person_id, day, path, rows, t_min, t_max, bytes, created_ns)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            file_id,
            person_id,
            day,
            rel,
            table.num_rows,
            pc.min(t).as_py(),
            pc.max(t).as_py(),
            size,
            time.time_ns(),
        ),
    )
