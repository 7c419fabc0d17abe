"""One batch in, second half: a group of prepared batches committed in one transaction.

Runs inside ``BEGIN IMMEDIATE``, so nothing else writes between these checks and the commit.
Everything ``prepare`` relied on is checked again, for the whole group in a handful of
statements: the principal may still write, the batch id is new (in the database and earlier
in the group: two copies of one batch in a group store it once), the consent history is the one
judged against, and the seqs written are still unstored (earlier batches of the same device, in
this group or committed meanwhile, may have stored some). A batch whose outcome changed is
rewritten here (new files, the prepared ones dropped); a batch that may not be written at all
fails alone. Then the index rows, bad rows, seq intervals and batch ids of the whole group are
inserted with a few multi-row statements, and the caller commits once: one fsync for the group.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import pyarrow as pa

from workprint.store.embedded import consent_gate, seqset
from workprint.store.embedded.blobs import Blobs
from workprint.store.embedded.consent_store import history
from workprint.store.embedded.database import Conn
from workprint.store.embedded.ingest import (
    ConsentVersion,
    Prepared,
    principal_problem,
    replayed,
    seal_parts,
    write_files,
)
from workprint.store.interface import IngestResult

_MAX_PARAMS: Final = 30_000  # below SQLite's limit of 32,766 host parameters per statement
Interval = tuple[int, int]


@dataclass
class GroupOutcome:
    results: list[IngestResult | BaseException] = field(default_factory=list)
    written: list[str] = field(default_factory=list)  # files written here (rewrites)
    unlink: list[str] = field(default_factory=list)  # unreferenced once this commits
    touched: dict[tuple[str, str], tuple[int, int]] = field(default_factory=dict)
    # (person, day) → (files, rows) added: what auto-compaction watches


def commit_group(conn: Conn, storage: Blobs, items: list[Prepared], out: GroupOutcome) -> None:
    """Check, record and account for every batch of the group into ``out``; the caller
    commits (and, should that fail, removes ``out.written`` with the prepared files)."""
    persons = sorted({item.person for item in items})
    people = {
        r[0]: (r[1], r[2])
        for r in _select_in(conn, "id, bucket, erased_ns", "people", "id", persons)
    }
    devices = {
        r[0]: (r[1], r[2])
        for r in _select_in(
            conn,
            "id, person_id, revoked_ns",
            "devices",
            "id",
            sorted({i.principal.device_id for i in items if i.principal.device_id}),
        )
    }
    seen = _seen_batches(conn, {(i.source, i.batch_id) for i in items})
    versions = _consent_versions(conn, persons)
    original = _intervals(conn, items)
    current = {source: list(intervals) for source, intervals in original.items()}
    now = time.time_ns()
    files_rows: list[tuple[Any, ...]] = []
    bad_rows: list[tuple[Any, ...]] = []
    batch_rows: list[tuple[Any, ...]] = []
    for item in items:
        try:
            problem = principal_problem(
                item.principal,
                people.get(item.person),
                devices.get(item.principal.device_id) if item.principal.device_id else None,
            )
            if problem is not None:
                raise problem
            if (item.source, item.batch_id) in seen:
                out.results.append(replayed(item.batch_id, item.sent, item.given_bad))
                out.unlink.extend(item.paths)
                continue
            permitted = item.permitted
            version: ConsentVersion = versions.get(item.person, (0, 0))
            if version != item.consent_version:  # consent recorded meanwhile: judge again
                intervals = consent_gate.scope_intervals(history(conn, item.person))
                permitted = consent_gate.allowed(item.table, intervals, item.types)
            intervals_now = current.get(item.source, [])
            fresh = item.first & ~seqset.contained(item.seqs, intervals_now)
            stored = fresh & permitted
            parts = item.parts
            if not np.array_equal(stored, item.stored):  # rare: rewrite what gets stored
                table = item.table.filter(pa.array(stored))
                parts, blobs = seal_parts(item.key, item.bucket, table)
                write_files(storage, parts, blobs)
                out.written.extend(part.rel for part in parts)
                out.unlink.extend(item.paths)
        except Exception as exc:  # this batch only; the others of the group go on
            out.results.append(exc)
            out.unlink.extend(item.paths)
            continue
        seen.add((item.source, item.batch_id))
        new_runs = seqset.runs(item.seqs[stored])
        if new_runs:
            current[item.source] = seqset.merge(intervals_now + new_runs)
        for part in parts:
            files_rows.append(
                (
                    *(part.file_id, item.person, part.day, part.rel, part.rows),
                    *(part.t_min, part.t_max, part.size, now),
                )
            )
            files, rows = out.touched.get((item.person, part.day), (0, 0))
            out.touched[(item.person, part.day)] = (files + 1, rows + part.rows)
        bad_rows.extend(item.bad)
        rejected_consent = int((fresh & ~permitted).sum())
        result = IngestResult(
            batch_id=item.batch_id,
            accepted=int(stored.sum()),
            duplicates=len(item.seqs) - int(fresh.sum()),
            rejected=len(item.bad) + rejected_consent,
            rejected_consent=rejected_consent,
        )
        out.results.append(result)
        batch_rows.append(
            (
                *(item.source, item.batch_id, item.person, now, item.sent, result.accepted),
                *(result.duplicates, result.rejected, result.rejected_consent),
            )
        )
    _replace_intervals(conn, original, current)
    _insert(
        conn, "files (id, person_id, day, path, rows, t_min, t_max, bytes, created_ns)", files_rows
    )
    _insert(conn, "bad_rows (person_id, source, batch_id, idx, received_ns, sealed)", bad_rows)
    _insert(
        conn,
        "batches (source, batch_id, person_id, received_ns, events, accepted, duplicates,"
        " rejected, rejected_consent)",
        batch_rows,
    )


def _chunks(rows: Sequence[Any], width: int) -> Iterable[Sequence[Any]]:
    size = max(1, _MAX_PARAMS // max(width, 1))
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def _placeholders(width: int, count: int) -> str:
    row = "(" + ", ".join("?" * width) + ")"
    return ", ".join([row] * count)


def _insert(conn: Conn, into: str, rows: list[tuple[Any, ...]]) -> None:
    """Many rows in few statements (each statement is one round trip through the GIL)."""
    if not rows:
        return
    width = len(rows[0])
    for chunk in _chunks(rows, width):
        params = [value for row in chunk for value in row]
        conn.execute(f"INSERT INTO {into} VALUES {_placeholders(width, len(chunk))}", params)


def _select_in(
    conn: Conn, columns: str, table: str, key: str, values: Sequence[Any]
) -> list[tuple[Any, ...]]:
    out: list[tuple[Any, ...]] = []
    for chunk in _chunks(values, 1):
        marks = ", ".join("?" * len(chunk))
        sql = f"SELECT {columns} FROM {table} WHERE {key} IN ({marks})"
        out.extend(conn.execute(sql, list(chunk)).fetchall())
    return out


def _seen_batches(conn: Conn, keys: set[tuple[str, str]]) -> set[tuple[str, str]]:
    seen: set[tuple[str, str]] = set()
    pairs = sorted(keys)
    for chunk in _chunks(pairs, 2):
        sql = (
            "SELECT source, batch_id FROM batches WHERE (source, batch_id) IN"
            f" (VALUES {_placeholders(2, len(chunk))})"
        )
        seen.update(conn.execute(sql, [v for pair in chunk for v in pair]).fetchall())
    return seen


def _consent_versions(conn: Conn, persons: list[str]) -> dict[str, ConsentVersion]:
    versions: dict[str, ConsentVersion] = dict.fromkeys(persons, (0, 0))
    for chunk in _chunks(persons, 1):
        sql = (
            "SELECT person_id, count(*), max(id) FROM consents"
            f" WHERE person_id IN ({', '.join('?' * len(chunk))}) GROUP BY person_id"
        )
        for person, n, last in conn.execute(sql, list(chunk)):
            versions[person] = (int(n), int(last))
    return versions


def _intervals(conn: Conn, items: list[Prepared]) -> dict[str, list[Interval]]:
    """Per device, its stored intervals overlapping or touching the seqs its batches span."""
    spans: dict[str, tuple[int, int]] = {}
    for item in items:
        if len(item.seqs):
            lo, hi = int(item.seqs.min()), int(item.seqs.max())
            old = spans.get(item.source)
            spans[item.source] = (lo, hi) if old is None else (min(lo, old[0]), max(hi, old[1]))
    out: dict[str, list[Interval]] = {source: [] for source in spans}
    queries = [(source, lo - 1, hi + 1) for source, (lo, hi) in sorted(spans.items())]
    for chunk in _chunks(queries, 3):
        sql = (
            f"SELECT r.source, r.lo, r.hi FROM (VALUES {_placeholders(3, len(chunk))}) AS q"
            " JOIN seq_ranges r ON r.source = q.column1 AND r.hi >= q.column2"
            " AND r.lo <= q.column3 ORDER BY r.source, r.lo"
        )
        for source, lo, hi in conn.execute(sql, [v for row in chunk for v in row]):
            out[source].append((int(lo), int(hi)))
    return out


def _replace_intervals(
    conn: Conn,
    original: dict[str, list[Interval]],
    current: dict[str, list[Interval]],
) -> None:
    gone = [
        (s, lo)
        for s, intervals in original.items()
        if current[s] != intervals
        for lo, _ in intervals
    ]
    for chunk in _chunks(gone, 2):
        conn.execute(
            f"DELETE FROM seq_ranges WHERE (source, lo) IN (VALUES {_placeholders(2, len(chunk))})",
            [v for pair in chunk for v in pair],
        )
    fresh = [
        (s, lo, hi)
        for s, intervals in current.items()
        if original[s] != intervals
        for lo, hi in intervals
    ]
    _insert(conn, "seq_ranges (source, lo, hi)", fresh)
