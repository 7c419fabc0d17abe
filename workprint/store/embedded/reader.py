"""Reading one person's events back: decrypt whole files, yield Arrow tables in (t, seq) order.

Each file is already sorted. Files whose time spans do not overlap are yielded one after the
other; overlapping ones (two devices recording at once, or batches not yet compacted) are
merged by sorting their union. The file list is taken from committed metadata; a file removed
meanwhile by retention or compaction is reported, never silently skipped.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final, NamedTuple

import msgspec
import pyarrow as pa
import pyarrow.compute as pc

from workprint.crypto.aead import open_sealed
from workprint.store.embedded import files
from workprint.store.embedded.blobs import Blobs
from workprint.store.embedded.database import Conn
from workprint.store.embedded.ingest import bad_row_aad
from workprint.store.interface import BadRow, StoreError

MAX_ROWS: Final = 65_536
_ORDER: Final = [("t", "ascending"), ("seq", "ascending")]
_unpack = msgspec.msgpack.Decoder(tuple[str, bytes])


class FileRef(NamedTuple):
    path: str
    t_min: int
    t_max: int


def file_refs(
    conn: Conn, person_id: str, start_ns: int | None, end_ns: int | None
) -> list[FileRef]:
    """The committed files of a person that may hold events in [start, end)."""
    return [
        FileRef(path, t_min, t_max)
        for path, t_min, t_max in conn.execute(
            "SELECT path, t_min, t_max FROM files WHERE person_id = ? AND t_max >= ?"
            " AND (? IS NULL OR t_min < ?) ORDER BY t_min",
            (person_id, start_ns or 0, end_ns, end_ns),
        )
    ]


def clusters(refs: list[FileRef]) -> list[list[FileRef]]:
    """Group files (sorted by t_min) into runs whose time spans overlap."""
    groups: list[list[FileRef]] = []
    end = -1
    for ref in sorted(refs, key=lambda r: (r.t_min, r.t_max)):
        if groups and ref.t_min <= end:
            groups[-1].append(ref)
            end = max(end, ref.t_max)
        else:
            groups.append([ref])
            end = ref.t_max
    return groups


def iter_tables(
    storage: Blobs,
    key: bytes,
    refs: list[FileRef],
    start_ns: int | None,
    end_ns: int | None,
) -> Iterator[pa.Table]:
    """Decrypted tables of at most ``MAX_ROWS`` rows, in (t, seq) order, within [start, end)."""
    for group in clusters(refs):
        parts = [_read(storage, key, ref) for ref in group]
        table = parts[0] if len(parts) == 1 else pa.concat_tables(parts).sort_by(_ORDER)
        inside_start = start_ns is None or min(r.t_min for r in group) >= start_ns
        inside_end = end_ns is None or max(r.t_max for r in group) < end_ns
        if not (inside_start and inside_end):
            table = _window(table, start_ns, end_ns)
        for offset in range(0, table.num_rows, MAX_ROWS):
            yield table.slice(offset, MAX_ROWS)


def _read(storage: Blobs, key: bytes, ref: FileRef) -> pa.Table:
    try:
        return files.read_sealed(storage, key, ref.path)
    except FileNotFoundError:
        raise StoreError(
            f"event file {ref.path} was removed during the read (retention, compaction or "
            "erasure ran meanwhile); read again"
        ) from None


def _window(table: pa.Table, start_ns: int | None, end_ns: int | None) -> pa.Table:
    t = table.column("t")
    if start_ns is not None:
        table = table.filter(pc.greater_equal(t, start_ns))
        t = table.column("t")
    if end_ns is not None:
        table = table.filter(pc.less(t, end_ns))
    return table


def open_bad_rows(
    key: bytes, person_id: str, rows: list[tuple[str, str, int, bytes]]
) -> list[BadRow]:
    """Decrypt a person's bad rows: ``rows`` are (source, batch_id, idx, sealed)."""
    out: list[BadRow] = []
    for source, batch_id, idx, sealed in rows:
        plain = open_sealed(key, bytes(sealed), bad_row_aad(person_id, source, batch_id, idx))
        reason, raw = _unpack.decode(plain)
        out.append(BadRow(index=idx, reason=reason, raw=raw))
    return out
