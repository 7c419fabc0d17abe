"""One batch in: validate, de-duplicate, enforce consent, seal, write, record — all or nothing.

Runs inside the caller's ``BEGIN IMMEDIATE`` transaction, so nothing else writes between the
de-duplication lookup and the commit, and no garbage collector can take a file written here
for debris. The files are durable (file and directory fsync'd) before the caller commits; if
the commit never happens they are unreferenced and removed at the next open.
"""

from __future__ import annotations

import itertools
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import msgspec
import numpy as np
import pyarrow as pa

from workprint.crypto.aead import seal
from workprint.store.embedded import consent_gate, files, seqset
from workprint.store.embedded.consent_store import history
from workprint.store.embedded.keys import DataKeys
from workprint.store.embedded.validate import conform, invalid_rows, type_masks
from workprint.store.interface import (
    BadRow,
    CredentialError,
    IngestResult,
    Principal,
    StoreError,
)

MAX_BATCH_ID: Final = 128
_BAD_ROW_AAD: Final = b"workprint bad row v1\x00"
_pack = msgspec.msgpack.Encoder()


@dataclass
class Written:
    """Files written during a batch, to remove if the transaction does not commit."""

    paths: list[str] = field(default_factory=list)


def bad_row_aad(person_id: str, source: str, batch_id: str, index: int) -> bytes:
    return _BAD_ROW_AAD + f"{person_id}\x00{source}\x00{batch_id}\x00{index}".encode()


def source_of(principal: Principal) -> str:
    """The de-duplication namespace: the device, or the person for a personal token."""
    return principal.device_id or f"person:{principal.person_id}"


def ingest(
    conn: sqlite3.Connection,
    root: Path,
    keys: DataKeys,
    principal: Principal,
    batch_id: str,
    events: pa.Table,
    bad_rows: list[BadRow],
    written: Written,
) -> IngestResult:
    if not batch_id or len(batch_id) > MAX_BATCH_ID:
        raise StoreError(f"batch id must be 1 to {MAX_BATCH_ID} characters")
    bucket = _check_principal(conn, principal)
    source = source_of(principal)
    person = principal.person_id
    if conn.execute(
        "SELECT 1 FROM batches WHERE source = ? AND batch_id = ?", (source, batch_id)
    ).fetchone():
        return IngestResult(
            batch_id=batch_id,
            accepted=0,
            duplicates=events.num_rows,
            rejected=len(bad_rows),
            replayed=True,
        )
    table = conform(events)
    types = type_masks(table)
    invalid = invalid_rows(table, types)
    if invalid:
        bad_rows = bad_rows + [_bad_from_row(table, row, why) for row, why in invalid.items()]
        keep = np.ones(table.num_rows, dtype=np.bool_)
        keep[list(invalid)] = False
        table = table.filter(pa.array(keep))
        types = {tag: mask[keep] for tag, mask in types.items()}
    n = table.num_rows

    seqs = table.column("seq").to_numpy()
    nearby = seqset.nearby(conn, source, int(seqs.min()), int(seqs.max())) if n else []
    fresh = seqset.first_occurrences(seqs) & ~seqset.contained(seqs, nearby)
    duplicates = n - int(fresh.sum())
    intervals = consent_gate.scope_intervals(history(conn, person))
    permitted = consent_gate.allowed(table, intervals, types)
    store = fresh & permitted
    rejected_consent = int((fresh & ~permitted).sum())
    stored = table.filter(pa.array(store)) if not store.all() else table

    if stored.num_rows or bad_rows:
        key = keys.get(conn, person)
        _write_events(conn, root, key, person, bucket, stored, written)
        _write_bad_rows(conn, key, person, source, batch_id, bad_rows)
    seqset.add(conn, source, nearby, stored.column("seq").to_numpy())
    result = IngestResult(
        batch_id=batch_id,
        accepted=stored.num_rows,
        duplicates=duplicates,
        rejected=len(bad_rows) + rejected_consent,
        rejected_consent=rejected_consent,
    )
    conn.execute(
        "INSERT INTO batches (source, batch_id, person_id, received_ns, events, accepted,"
        " duplicates, rejected, rejected_consent) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            source,
            batch_id,
            person,
            time.time_ns(),
            events.num_rows,
            result.accepted,
            result.duplicates,
            result.rejected,
            result.rejected_consent,
        ),
    )
    return result


def _check_principal(conn: sqlite3.Connection, principal: Principal) -> str:
    """The person's bucket, if this principal may still write their events."""
    row = conn.execute(
        "SELECT bucket, erased_ns FROM people WHERE id = ?", (principal.person_id,)
    ).fetchone()
    if row is None:
        raise CredentialError(f"unknown person {principal.person_id}")
    if row[1] is not None:
        raise CredentialError(f"person {principal.person_id} was erased")
    if principal.device_id is not None:
        device = conn.execute(
            "SELECT person_id, revoked_ns FROM devices WHERE id = ?", (principal.device_id,)
        ).fetchone()
        if device is None or device[0] != principal.person_id:
            raise CredentialError(f"device {principal.device_id} is not {principal.person_id}'s")
        if device[1] is not None:
            raise CredentialError(f"device {principal.device_id} was revoked")
    return str(row[0])


def _write_events(
    conn: sqlite3.Connection,
    root: Path,
    key: bytes,
    person: str,
    bucket: str,
    table: pa.Table,
    written: Written,
) -> None:
    """Sort by (t, seq) and write one sealed file per UTC day the batch touches."""
    if table.num_rows == 0:
        return
    table = table.sort_by([("t", "ascending"), ("seq", "ascending")])
    t = table.column("t").to_numpy()
    days = t // files.NS_PER_DAY
    cuts = [0, *(np.flatnonzero(np.diff(days)) + 1).tolist(), len(t)]
    now = time.time_ns()
    for start, stop in itertools.pairwise(cuts):
        part = table.slice(start, stop - start)
        day = files.day_of(int(t[start]))
        file_id = files.new_file_id()
        rel, size = files.write_sealed(root, key, part, day=day, bucket=bucket, file_id=file_id)
        written.paths.append(rel)
        conn.execute(
            "INSERT INTO files (id, person_id, day, path, rows, t_min, t_max, bytes, created_ns)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (file_id, person, day, rel, stop - start, int(t[start]), int(t[stop - 1]), size, now),
        )


def _write_bad_rows(
    conn: sqlite3.Connection,
    key: bytes,
    person: str,
    source: str,
    batch_id: str,
    bad_rows: list[BadRow],
) -> None:
    now = time.time_ns()
    conn.executemany(
        "INSERT INTO bad_rows (person_id, source, batch_id, idx, received_ns, sealed)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        [
            (
                person,
                source,
                batch_id,
                bad.index,
                now,
                seal(
                    key,
                    _pack.encode([bad.reason, bad.raw]),
                    bad_row_aad(person, source, batch_id, bad.index),
                ),
            )
            for bad in bad_rows
        ],
    )


def _bad_from_row(table: pa.Table, row: int, reason: str) -> BadRow:
    """A row the model refuses, kept (sealed) as JSON of its non-null fields."""
    values = {k: v for k, v in table.slice(row, 1).to_pylist()[0].items() if v is not None}
    raw = msgspec.json.encode(values)
    return BadRow(index=row, reason=f"events table row {row}: {reason}", raw=raw)
