"""One batch in, first half: the work that needs no lock, done in the caller's thread.

``prepare`` checks who is writing and whether the batch id was seen, validates the table,
de-duplicates against the stored seq intervals and judges consent — all against a read-only
snapshot of the metadata — then encodes, seals and writes the events that will be stored as new
files, durably (file and directory fsync'd). What it relied on may change before the batch
commits (another batch of the same device, a consent change, an erasure): the group commit
(``commit.py``) checks it all again inside its transaction and rewrites the rare batch whose
outcome changed. Files written here that never get committed are debris (``files.WriterLock``).
"""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import dataclass, field
from typing import Final

import msgspec
import numpy as np
import pyarrow as pa

from workprint.crypto.aead import seal
from workprint.store.embedded import consent_gate, files, seqset
from workprint.store.embedded.blobs import Blobs
from workprint.store.embedded.consent_store import history
from workprint.store.embedded.database import Conn
from workprint.store.embedded.keys import DataKeys
from workprint.store.embedded.seqset import Mask, Seqs
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
ConsentVersion = tuple[int, int]  # (records, last record id): consent rows are only appended
Intervals = dict[str, consent_gate.Intervals]

_STATE_SQL: Final = (
    "SELECT p.bucket, p.erased_ns, k.wrapped,"
    " (SELECT count(*) FROM consents c WHERE c.person_id = p.id),"
    " (SELECT coalesce(max(c.id), 0) FROM consents c WHERE c.person_id = p.id),"
    " EXISTS (SELECT 1 FROM batches b WHERE b.source = ? AND b.batch_id = ?),"
    " (SELECT d.person_id FROM devices d WHERE d.id = ?),"
    " (SELECT d.revoked_ns FROM devices d WHERE d.id = ?)"
    " FROM people p LEFT JOIN data_keys k ON k.person_id = p.id WHERE p.id = ?"
)


@dataclass
class Written:
    """Files written during a maintenance step, to remove if its transaction does not commit."""

    paths: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Part:
    """One sealed event file of a batch (one per UTC day the batch touches)."""

    file_id: str
    rel: str
    day: str
    rows: int
    t_min: int
    t_max: int
    size: int


@dataclass
class Prepared:
    """A validated batch with its files written, waiting for its group commit."""

    principal: Principal
    source: str
    bucket: str
    key: bytes
    batch_id: str
    sent: int  # events in the table as given
    given_bad: int  # bad rows the caller handed in (all a replay reports)
    table: pa.Table  # the valid rows, in EVENT_SCHEMA
    types: dict[str, Mask]
    seqs: Seqs
    first: Mask  # the first row of each seq in the batch
    permitted: Mask  # allowed by consent as of ``consent_version``
    consent_version: ConsentVersion
    stored: Mask  # the rows in ``parts``
    parts: list[Part]
    blobs: list[bytes]  # the sealed files of ``parts``, until ``write_files`` wrote them
    bad: list[tuple[str, str, str, int, int, bytes]]  # bad_rows rows, sealed
    written: bool = False  # ``blobs`` already written (object storage: before the commit)

    @property
    def person(self) -> str:
        return self.principal.person_id

    @property
    def paths(self) -> list[str]:
        return [part.rel for part in self.parts]


def bad_row_aad(person_id: str, source: str, batch_id: str, index: int) -> bytes:
    return _BAD_ROW_AAD + f"{person_id}\x00{source}\x00{batch_id}\x00{index}".encode()


def source_of(principal: Principal) -> str:
    """The de-duplication namespace: the device, or the person for a personal token."""
    return principal.device_id or f"person:{principal.person_id}"


def principal_problem(
    principal: Principal,
    person: tuple[object, object] | None,
    device: tuple[object, object] | None,
) -> CredentialError | None:
    """Why this principal may not write now, given its person row (bucket, erased_ns) and, for
    a device, its device row (person_id, revoked_ns); None if it may."""
    if person is None:
        return CredentialError(f"unknown person {principal.person_id}")
    if person[1] is not None:
        return CredentialError(f"person {principal.person_id} was erased")
    if principal.device_id is not None:
        if device is None or device[0] != principal.person_id:
            return CredentialError(f"device {principal.device_id} is not {principal.person_id}'s")
        if device[1] is not None:
            return CredentialError(f"device {principal.device_id} was revoked")
    return None


class ConsentCache:
    """Per person, the consent intervals of the last history seen, tagged with its version."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[ConsentVersion, Intervals]] = {}

    def intervals(self, conn: Conn, person: str, version: ConsentVersion) -> Intervals:
        with self._lock:
            cached = self._cache.get(person)
        if cached is not None and cached[0] == version:
            return cached[1]
        intervals = consent_gate.scope_intervals(history(conn, person))
        with self._lock:
            self._cache[person] = (version, intervals)
        return intervals


def prepare(
    snap: Conn,
    storage: Blobs,
    keys: DataKeys,
    consents: ConsentCache,
    principal: Principal,
    batch_id: str,
    events: pa.Table,
    bad_rows: list[BadRow],
    *,
    validated: bool = False,
) -> Prepared | IngestResult:
    """Validate (unless msgspec did: ``Store.ingest``), judge and seal a batch's files; an
    ``IngestResult`` if it is a replay."""
    if not batch_id or len(batch_id) > MAX_BATCH_ID:
        raise StoreError(f"batch id must be 1 to {MAX_BATCH_ID} characters")
    source = source_of(principal)
    person = principal.person_id
    device = principal.device_id
    row = snap.execute(_STATE_SQL, (source, batch_id, device, device, person)).fetchone()
    device_row = None if row is None or row[6] is None else (row[6], row[7])
    problem = principal_problem(principal, None if row is None else (row[0], row[1]), device_row)
    if problem is not None:
        raise problem
    bucket, _, wrapped, n_consents, last_consent, seen = row[:6]
    if seen:
        return replayed(batch_id, events.num_rows, len(bad_rows))
    if wrapped is None:
        raise CredentialError(f"person {person} has no data key (erased or unknown)")
    key = keys.from_wrapped(person, bytes(wrapped))

    table = conform(events)
    types = type_masks(table)
    invalid = {} if validated else invalid_rows(table, types)
    if invalid:
        bad_rows = bad_rows + [_bad_from_row(table, row, why) for row, why in invalid.items()]
        keep = np.ones(table.num_rows, dtype=np.bool_)
        keep[list(invalid)] = False
        table = table.filter(pa.array(keep))
        types = {tag: mask[keep] for tag, mask in types.items()}
    seqs = table.column("seq").to_numpy()
    first = seqset.first_occurrences(seqs)
    if len(seqs):
        nearby = seqset.nearby(snap, source, int(seqs.min()), int(seqs.max()))
        fresh = first & ~seqset.contained(seqs, nearby)
    else:
        fresh = first
    version = (int(n_consents), int(last_consent))
    permitted = consent_gate.allowed(table, consents.intervals(snap, person, version), types)
    stored = fresh & permitted
    parts, blobs = seal_parts(key, bucket, _select(table, stored))
    bad = seal_bad_rows(key, person, source, batch_id, bad_rows)
    return Prepared(
        principal=principal,
        source=source,
        bucket=bucket,
        key=key,
        batch_id=batch_id,
        sent=events.num_rows,
        given_bad=len(bad_rows) - len(invalid),
        table=table,
        types=types,
        seqs=seqs,
        first=first,
        permitted=permitted,
        consent_version=version,
        stored=stored,
        parts=parts,
        blobs=blobs,
        bad=bad,
    )


def replayed(batch_id: str, sent: int, bad: int) -> IngestResult:
    """A batch id seen before: nothing written, its events count as duplicates."""
    return IngestResult(batch_id=batch_id, accepted=0, duplicates=sent, rejected=bad, replayed=True)


def _select(table: pa.Table, mask: Mask) -> pa.Table:
    return table if mask.all() else table.filter(pa.array(mask))


def seal_parts(key: bytes, bucket: str, table: pa.Table) -> tuple[list[Part], list[bytes]]:
    """Sort by (t, seq) and seal one file per UTC day the rows touch (CPU only)."""
    if table.num_rows == 0:
        return [], []
    if not _in_order(table):  # a recorder's batch usually is
        table = table.sort_by([("t", "ascending"), ("seq", "ascending")])
    t = table.column("t").to_numpy()
    days = t // files.NS_PER_DAY
    cuts = [0, *(np.flatnonzero(np.diff(days)) + 1).tolist(), len(t)]
    parts: list[Part] = []
    blobs: list[bytes] = []
    for start, stop in itertools.pairwise(cuts):
        day = files.day_of(int(t[start]))
        file_id = files.new_file_id()
        part = table.slice(start, stop - start)
        blob = files.seal_table(key, part, day=day, bucket=bucket, file_id=file_id)
        rel = files.relative_path(day, bucket, file_id)
        parts.append(
            Part(file_id, rel, day, stop - start, int(t[start]), int(t[stop - 1]), len(blob))
        )
        blobs.append(blob)
    return parts, blobs


def _in_order(table: pa.Table) -> bool:
    """Whether the rows are already sorted by (t, seq)."""
    dt = np.diff(table.column("t").to_numpy())
    if (dt > 0).all():
        return True
    ds = np.diff(table.column("seq").to_numpy())
    return bool(((dt > 0) | ((dt == 0) & (ds >= 0))).all())


def write_files(storage: Blobs, parts: list[Part], blobs: list[bytes]) -> None:
    """Write sealed files durably; all or none (a failure removes those written)."""
    done: list[str] = []
    try:
        for part, blob in zip(parts, blobs, strict=True):
            storage.write(part.rel, blob)
            done.append(part.rel)
    except BaseException:
        storage.remove(done)
        raise


def seal_bad_rows(
    key: bytes, person: str, source: str, batch_id: str, bad_rows: list[BadRow]
) -> list[tuple[str, str, str, int, int, bytes]]:
    now = time.time_ns()
    return [
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
    ]


def _bad_from_row(table: pa.Table, row: int, reason: str) -> BadRow:
    """A row the model refuses, kept (sealed) as JSON of its non-null fields."""
    values = {k: v for k, v in table.slice(row, 1).to_pylist()[0].items() if v is not None}
    raw = msgspec.json.encode(values)
    return BadRow(index=row, reason=f"events table row {row}: {reason}", raw=raw)
