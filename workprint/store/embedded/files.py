"""Event files: one person's events of one day as a Parquet file, sealed whole with their key.

Layout: ``events/day=YYYY-MM-DD/bucket=<random>/<file id>.parquet.sealed``. The day is the UTC
date of ``t``; the bucket is a random name per person (never the name or the person id). A file
is ``MAGIC || nonce || AES-256-GCM(data key, Parquet bytes) || tag`` with associated data
binding it to its bucket, day and id, so a file moved or renamed does not open. Inside is an
ordinary zstd Parquet file in ``EVENT_SCHEMA``, sorted by (t, seq), with delta encoding for the
time, sequence and coordinate columns.

A file is written with ``O_EXCL``, fsync'd, and its directory (and any directory created for it)
fsync'd before the metadata that references it commits; files no committed metadata references
are debris of a crash and ``collect_garbage`` removes them.
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import logging
import os
import secrets
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Final

import pyarrow as pa
import pyarrow.parquet as pq

from workprint.crypto.aead import open_sealed, seal
from workprint.events.columnar import EVENT_SCHEMA
from workprint.store.interface import StoreError

if TYPE_CHECKING:
    from workprint.store.embedded.blobs import Blobs

log = logging.getLogger(__name__)

EVENTS_DIR: Final = "events"
SUFFIX: Final = ".parquet.sealed"
MAGIC: Final = b"WPSEAL01"
NS_PER_DAY: Final = 86_400 * 10**9
_DELTA_COLUMNS: Final = ("t", "seq", "x", "y", "t_end")
_DICTIONARY_COLUMNS: Final = tuple(
    f.name for f in EVENT_SCHEMA if f.name not in _DELTA_COLUMNS and not pa.types.is_integer(f.type)
)
_ARROW_DICTIONARIES: Final = [f.name for f in EVENT_SCHEMA if pa.types.is_dictionary(f.type)]
_EPOCH: Final = datetime.date(1970, 1, 1)


def day_of(t_ns: int) -> str:
    """The UTC date of a timestamp, as ``YYYY-MM-DD``."""
    return (_EPOCH + datetime.timedelta(days=t_ns // NS_PER_DAY)).isoformat()


def day_start_ns(day: str) -> int:
    try:
        date = datetime.date.fromisoformat(day)
    except ValueError:
        raise StoreError(f"not a day: {day!r} (expected YYYY-MM-DD)") from None
    return (date - _EPOCH).days * NS_PER_DAY


def new_file_id() -> str:
    return secrets.token_hex(12)


def relative_path(day: str, bucket: str, file_id: str) -> str:
    return f"{EVENTS_DIR}/day={day}/bucket={bucket}/{file_id}{SUFFIX}"


def _aad(day: str, bucket: str, file_id: str) -> bytes:
    return MAGIC + f"\x00{bucket}\x00{day}\x00{file_id}".encode()


def encode(table: pa.Table) -> bytes:
    """An EVENT_SCHEMA table → Parquet bytes: zstd, delta-encoded integers, and only the
    columns that hold a value (a batch of mouse moves has 8 of 28). Without the per-column
    metadata of empty columns and the embedded Arrow schema a 250-event batch takes about a
    third of the bytes; ``decode`` restores both."""
    kept = [name for name in table.column_names if table.column(name).null_count < len(table)]
    if not kept:
        kept = ["type"]
    sink = pa.BufferOutputStream()
    pq.write_table(
        table.select(kept),
        sink,
        compression="zstd",
        write_statistics=False,
        store_schema=False,
        use_dictionary=[name for name in kept if name in _DICTIONARY_COLUMNS],
        column_encoding={name: "DELTA_BINARY_PACKED" for name in kept if name in _DELTA_COLUMNS},
    )
    return bytes(sink.getvalue())


def decode(data: bytes) -> pa.Table:
    """Parquet bytes from ``encode`` → a table in EVENT_SCHEMA (absent columns all null)."""
    table = pq.read_table(pa.BufferReader(data), read_dictionary=_ARROW_DICTIONARIES)
    columns = []
    for field in EVENT_SCHEMA:
        if field.name in table.column_names:
            columns.append(table.column(field.name).cast(field.type))
        else:
            columns.append(pa.nulls(len(table), field.type))
    return pa.Table.from_arrays(columns, schema=EVENT_SCHEMA)


def seal_table(key: bytes, table: pa.Table, *, day: str, bucket: str, file_id: str) -> bytes:
    """The bytes of a sealed event file (CPU only: encode and encrypt, nothing written)."""
    return MAGIC + seal(key, encode(table), _aad(day, bucket, file_id))


def write_sealed(
    storage: Blobs, key: bytes, table: pa.Table, *, day: str, bucket: str, file_id: str
) -> tuple[str, int]:
    """Write ``table`` as a new sealed file, durably; returns (relative path, bytes written)."""
    rel = relative_path(day, bucket, file_id)
    blob = seal_table(key, table, day=day, bucket=bucket, file_id=file_id)
    storage.write(rel, blob)
    return rel, len(blob)


def write_blob(root: Path, rel: str, blob: bytes) -> None:
    """Create ``rel`` with ``blob``, durably: ``O_EXCL``, the file and its directory (and any
    directory created for it) fsync'd before this returns."""
    path = root / rel
    created = make_dirs(root, path.parent)
    flags = os.O_CREAT | os.O_EXCL | os.O_WRONLY | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(path, flags, 0o600)
    try:
        try:
            view = memoryview(blob)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        for directory in {path.parent, *(d.parent for d in created)}:
            fsync_dir(directory)
    except BaseException:
        path.unlink(missing_ok=True)  # ours (O_EXCL): half a file is nobody's
        raise


def read_sealed(storage: Blobs, key: bytes, rel: str) -> pa.Table:
    """Open and decode a sealed file named by its relative path."""
    day, bucket, file_id = parse_relative(rel)
    data = storage.read(rel)
    if not data.startswith(MAGIC):
        raise StoreError(f"event file {rel} is not a sealed workprint event file")
    return decode(open_sealed(key, data[len(MAGIC) :], _aad(day, bucket, file_id)))


def parse_relative(rel: str) -> tuple[str, str, str]:
    parts = rel.split("/")
    if (
        len(parts) != 4
        or parts[0] != EVENTS_DIR
        or not parts[1].startswith("day=")
        or not parts[2].startswith("bucket=")
        or not parts[3].endswith(SUFFIX)
    ):
        raise StoreError(f"not an event file path: {rel}")
    return parts[1][4:], parts[2][7:], parts[3][: -len(SUFFIX)]


def make_dirs(root: Path, directory: Path) -> list[Path]:
    """Create ``directory`` (0700) and missing parents below ``root``; returns those created."""
    created: list[Path] = []
    missing: list[Path] = []
    current = directory
    while current != root and not current.is_dir():
        missing.append(current)
        current = current.parent
    for path in reversed(missing):
        try:
            path.mkdir(mode=0o700)
            created.append(path)
        except FileExistsError:
            pass
    return created


def fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def remove(root: Path, rels: Iterable[str]) -> None:
    """Unlink files no metadata references any more and prune directories left empty. Best
    effort: a file that cannot be removed now is debris the next open removes."""
    parents: set[Path] = set()
    for rel in rels:
        path = root / rel
        try:
            path.unlink(missing_ok=True)
        except OSError as exc:
            log.warning("cannot remove %s now (%s); it goes at the next open", path, exc.strerror)
        parents.add(path.parent)
    for parent in parents:
        prune_empty(root, parent)


def prune_empty(root: Path, directory: Path) -> None:
    events = root / EVENTS_DIR
    current = directory
    while current != events and events in current.parents:
        try:
            current.rmdir()
        except OSError:
            return
        current = current.parent


def collect_garbage(root: Path, referenced: set[str], *, min_age_s: float = 0.0) -> int:
    """Remove files under ``events/`` that no committed metadata references; returns how many.

    The caller holds the database write lock. Files are written before the metadata naming
    them commits, possibly by another process that has the store open: with ``min_age_s``, only
    debris older than that goes (``WriterLock`` says when no one else can be writing)."""
    events = root / EVENTS_DIR
    if not events.is_dir():
        return 0
    horizon = time.time() - min_age_s
    removed = 0
    for dirpath, _, filenames in os.walk(events, topdown=False):
        here = Path(dirpath)
        for name in filenames:
            path = here / name
            if path.relative_to(root).as_posix() in referenced:
                continue
            try:
                if min_age_s and path.stat().st_mtime > horizon:
                    continue
                path.unlink(missing_ok=True)
                removed += 1
            except OSError as exc:
                log.warning("cannot remove debris %s: %s", path, exc.strerror)
        if here != events:
            with contextlib.suppress(OSError):
                if not min_age_s or here.stat().st_mtime <= horizon:
                    here.rmdir()
    return removed


class WriterLock:
    """Who else has this store open: a shared ``flock`` on ``writers.lock`` for as long as a
    store is open. Event files are written before the metadata that names them commits (and
    outside the database lock), so an opening process may remove unreferenced files as debris
    only when it is alone; otherwise it leaves recent ones alone (``collect_garbage``)."""

    NAME: Final = "writers.lock"

    def __init__(self, root: Path) -> None:
        try:
            self._fd: int | None = os.open(root / self.NAME, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise StoreError(f"cannot lock store {root}: {exc.strerror}") from None
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            self.alone = True
        except BlockingIOError:
            self.alone = False
            fcntl.flock(self._fd, fcntl.LOCK_SH)

    def share(self) -> None:
        """After the debris is gone: let other processes open the store too."""
        if self._fd is not None and self.alone:
            fcntl.flock(self._fd, fcntl.LOCK_SH)

    def release(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)  # drops the lock
