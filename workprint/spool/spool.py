"""The spool: a durable, encrypted, bounded local queue between the recorder and the uploader.

Events arrive in batches; each batch is one row holding its events as msgpack, compressed with
zstd and sealed with AES-256-GCM under the device key (the batch id is the associated data), so
no event field is ever written in plaintext. Sequence numbers are assigned in the same
transaction that stores the batch: a crash can neither reuse nor skip-then-duplicate one.
A batch leaves the spool only when the uploader acknowledges it (after the server accepted it),
when it is moved to quarantine, or when the byte and age bounds drop it, which is counted.
"""

from __future__ import annotations

import heapq
import math
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Final, Self

import msgspec
import zstandard

from workprint.crypto import KEY_BYTES, DecryptionError, Sealer, open_sealed
from workprint.events import Event, decode_batch, encode_batch
from workprint.spool.records import BatchInfo, SpooledBatch, SpoolStats
from workprint.spool.schema import SpoolError, connect, file_bytes, sqlite_errors

ZSTD_LEVEL: Final = 3
MAX_SEQ: Final = 2**63 - 2  # SQLite integers are signed 64-bit, and next_seq = last + 1
_AGE_CHECK_S: Final = 60.0
_VACUUM_FREE_PAGES: Final = 1024  # give space back to the filesystem beyond ~4 MiB of free pages


class _Undecodable(Exception):
    """A stored batch that does not decrypt or decode; it goes to quarantine."""


class Spool:
    """Use ``Spool.open``. Thread-safe: one connection guarded by a lock."""

    def __init__(
        self,
        path: Path,
        conn: sqlite3.Connection,
        key: bytes,
        *,
        device_id: str,
        max_bytes: int,
        max_age_s: float,
    ) -> None:
        self.path = path
        self.device_id = device_id
        self.max_bytes = max_bytes
        self.max_age_s = max_age_s
        self._conn: sqlite3.Connection | None = conn
        self._key = key
        self._sealer = Sealer(key)
        self._next_age_check = 0.0
        self._lock = threading.Lock()
        self._compressor = zstandard.ZstdCompressor(level=ZSTD_LEVEL)

    @classmethod
    def open(
        cls,
        path: Path,
        key: bytes,
        *,
        device_id: str,
        max_bytes: int = 512 * 2**20,
        max_age_s: float = 14 * 86400,
        create: bool = True,
    ) -> Spool:
        """Open the spool at ``path`` (creating it unless ``create`` is False) and apply bounds."""
        if len(key) != KEY_BYTES:
            raise ValueError(f"spool key must be {KEY_BYTES} bytes, got {len(key)}")
        if max_bytes <= 0 or not max_age_s > 0:
            raise ValueError("max_bytes and max_age_s must be positive")
        path = Path(path)
        if not create and not path.exists():
            raise SpoolError(f"no spool at {path}")
        spool = cls(
            path,
            connect(path, key, device_id),
            key,
            device_id=device_id,
            max_bytes=max_bytes,
            max_age_s=max_age_s,
        )
        try:
            with spool._write() as conn:
                spool._enforce_bounds(conn)
        except BaseException:
            spool.close()
            raise
        return spool

    # -- writing -----------------------------------------------------------------------------

    def append(self, events: Sequence[Event], *, assign_seq: bool = True) -> BatchInfo | None:
        """Store ``events`` as one sealed batch; None (nothing written) for an empty list.

        With ``assign_seq`` each event's ``seq`` is set to the next numbers of this device;
        otherwise (import) the given seqs are kept and ``next_seq`` moves past the largest."""
        if not events:
            return None
        batch_id = uuid.uuid4().hex
        with self._write() as conn:
            (next_seq,) = conn.execute("SELECT next_seq FROM meta WHERE id = 1").fetchone()
            if assign_seq:
                for offset, event in enumerate(events):
                    event.seq = next_seq + offset
                first_seq, last_seq = next_seq, next_seq + len(events) - 1
            else:
                seqs = [event.seq for event in events]
                first_seq, last_seq = min(seqs), max(seqs)
            if first_seq < 0 or last_seq > MAX_SEQ:
                raise SpoolError(
                    f"seq {last_seq if last_seq > MAX_SEQ else first_seq} is "
                    f"outside the spool's range 0..{MAX_SEQ}"
                )
            raw = encode_batch(list(events))
            payload = self._sealer.seal(self._compressor.compress(raw), batch_id.encode())
            created_ns = time.time_ns()
            conn.execute(
                "INSERT INTO batches (batch_id, created_ns, first_seq, last_seq, n_events,"
                " n_bytes, payload) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (batch_id, created_ns, first_seq, last_seq, len(events), len(payload), payload),
            )
            conn.execute(
                "UPDATE meta SET next_seq = max(next_seq, ?), held_bytes = held_bytes + ?"
                " WHERE id = 1",
                (last_seq + 1, len(payload)),
            )
            self._enforce_bounds(conn)
        return BatchInfo(
            batch_id, first_seq, last_seq, len(events), len(payload), len(raw), created_ns
        )

    def ack(self, batch_ids: Iterable[str]) -> int:
        """Delete batches the server accepted; returns how many were still pending."""
        removed = 0
        with self._write() as conn:
            for batch_id in batch_ids:
                row = conn.execute(
                    "DELETE FROM batches WHERE batch_id = ? RETURNING n_bytes", (batch_id,)
                ).fetchone()
                if row is not None:
                    removed += 1
                    conn.execute(
                        "UPDATE meta SET held_bytes = held_bytes - ? WHERE id = 1", (row[0],)
                    )
            if removed:
                self._maybe_vacuum(conn)
        return removed

    def quarantine(self, batch_id: str, reason: str) -> bool:
        """Move a pending batch (still sealed) out of the queue; False if it was not pending."""
        with self._write() as conn:
            return self._quarantine(conn, batch_id, reason)

    # -- reading -----------------------------------------------------------------------------

    def pending(self, limit: int = 100) -> list[SpooledBatch]:
        """Up to ``limit`` pending batches, oldest first, decrypted.

        A batch that no longer decrypts or decodes is quarantined with its reason instead of
        blocking the queue."""
        out: list[SpooledBatch] = []
        after = 0
        while len(out) < limit:
            with self._read() as conn:
                rows = conn.execute(
                    "SELECT id, batch_id, created_ns, first_seq, last_seq, n_events, payload"
                    " FROM batches WHERE id > ? ORDER BY id LIMIT ?",
                    (after, limit - len(out)),
                ).fetchall()
            if not rows:
                break
            for rowid, batch_id, created_ns, first_seq, last_seq, n_events, payload in rows:
                after = rowid
                events = self._decode_or_quarantine(batch_id, n_events, payload)
                if events is not None:
                    out.append(
                        SpooledBatch(batch_id, first_seq, last_seq, n_events, created_ns, events)
                    )
        return out

    def iter_events(self) -> Iterator[Event]:
        """Every pending event in seq order (ties: older batch first), decrypting lazily.

        Batches whose seq ranges do not overlap are held one at a time; overlapping ones (from
        imports) are merged."""
        with self._read() as conn:
            index: list[tuple[int, int]] = conn.execute(
                "SELECT first_seq, id FROM batches ORDER BY first_seq, id"
            ).fetchall()
        heap: list[tuple[int, int, int, Event, Iterator[tuple[int, Event]]]] = []
        position = 0
        while heap or position < len(index):
            while position < len(index) and (not heap or index[position][0] <= heap[0][0]):
                rowid = index[position][1]
                position += 1
                ordered = iter(sorted(enumerate(self._load(rowid)), key=lambda p: p[1].seq))
                first = next(ordered, None)
                if first is not None:
                    heapq.heappush(heap, (first[1].seq, rowid, first[0], first[1], ordered))
            _, rowid, _, event, rest = heap[0]
            following = next(rest, None)
            if following is None:
                heapq.heappop(heap)
            else:
                heapq.heapreplace(heap, (following[1].seq, rowid, following[0], following[1], rest))
            yield event

    def stats(self) -> SpoolStats:
        with self._read() as conn:
            batches, events, payload, oldest = conn.execute(
                "SELECT count(*), total(n_events), total(n_bytes), min(created_ns) FROM batches"
            ).fetchone()
            (quarantined,) = conn.execute("SELECT count(*) FROM quarantine").fetchone()
            next_seq, dropped_events, dropped_batches = conn.execute(
                "SELECT next_seq, dropped_events, dropped_batches FROM meta WHERE id = 1"
            ).fetchone()
        return SpoolStats(
            batches=batches,
            events=int(events),
            payload_bytes=int(payload),
            file_bytes=file_bytes(self.path),
            dropped_events=dropped_events,
            dropped_batches=dropped_batches,
            quarantined=quarantined,
            oldest_created_ns=oldest,
            next_seq=next_seq,
        )

    # -- lifecycle ---------------------------------------------------------------------------

    def close(self) -> None:
        with self._lock:
            conn, self._conn = self._conn, None
            if conn is not None:
                with sqlite_errors(self.path):
                    conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- internals ---------------------------------------------------------------------------

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        with self._lock, sqlite_errors(self.path):
            if self._conn is None:
                raise SpoolError(f"spool {self.path} is closed")
            yield self._conn

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One IMMEDIATE transaction: committed whole or rolled back whole."""
        with self._read() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def _load(self, rowid: int) -> list[Event]:
        with self._read() as conn:
            row = conn.execute(
                "SELECT batch_id, n_events, payload FROM batches WHERE id = ?", (rowid,)
            ).fetchone()
        if row is None:  # acknowledged or dropped since the index was read
            return []
        return self._decode_or_quarantine(*row) or []

    def _decode_or_quarantine(
        self, batch_id: str, n_events: int, payload: bytes
    ) -> list[Event] | None:
        try:
            return self._decode(batch_id, n_events, payload)
        except _Undecodable as exc:
            with self._write() as conn:
                self._quarantine(conn, batch_id, str(exc))
            return None

    def _decode(self, batch_id: str, n_events: int, payload: bytes) -> list[Event]:
        try:
            compressed = open_sealed(self._key, payload, batch_id.encode())
        except DecryptionError as exc:
            raise _Undecodable(f"cannot decrypt: {exc}") from None
        try:
            raw: bytes = zstandard.ZstdDecompressor().decompress(compressed)
        except zstandard.ZstdError as exc:
            raise _Undecodable(f"cannot decompress: {exc}") from None
        try:
            events = decode_batch(raw)
        except (msgspec.ValidationError, msgspec.DecodeError) as exc:
            raise _Undecodable(f"cannot decode: {exc}") from None
        if len(events) != n_events:
            raise _Undecodable(f"holds {len(events)} events, its row says {n_events}")
        return events

    def _quarantine(self, conn: sqlite3.Connection, batch_id: str, reason: str) -> bool:
        moved = conn.execute(
            "INSERT INTO quarantine (batch_id, reason, created_ns, quarantined_ns, first_seq,"
            " last_seq, n_events, n_bytes, key_id, payload)"
            " SELECT batch_id, ?, created_ns, ?, first_seq, last_seq, n_events, n_bytes, key_id,"
            " payload FROM batches WHERE batch_id = ?",
            (reason, time.time_ns(), batch_id),
        ).rowcount
        conn.execute("DELETE FROM batches WHERE batch_id = ?", (batch_id,))
        return moved > 0

    def _enforce_bounds(self, conn: sqlite3.Connection) -> None:
        """Drop what is older than ``max_age_s``, then the oldest until under ``max_bytes``.

        Quarantined batches count towards the bytes and go first: they will never be sent."""
        dropped_events = dropped_batches = freed = 0
        now = time.monotonic()
        if math.isfinite(self.max_age_s) and now >= self._next_age_check:
            # the age bound is days: once a minute is plenty (sooner for a tiny bound)
            self._next_age_check = now + min(_AGE_CHECK_S, self.max_age_s / 10)
            cutoff = time.time_ns() - int(self.max_age_s * 1e9)
            for table in ("quarantine", "batches"):
                n, events, size = conn.execute(
                    f"SELECT count(*), total(n_events), total(n_bytes) FROM {table}"
                    " WHERE created_ns < ?",
                    (cutoff,),
                ).fetchone()
                if n:
                    conn.execute(f"DELETE FROM {table} WHERE created_ns < ?", (cutoff,))
                    dropped_batches, dropped_events = dropped_batches + n, dropped_events + events
                    freed += int(size)
        (held,) = conn.execute("SELECT held_bytes FROM meta WHERE id = 1").fetchone()
        excess = held - freed - self.max_bytes
        for table in ("quarantine", "batches"):
            if excess <= 0:
                break
            last_id = None
            cursor = conn.execute(f"SELECT id, n_events, n_bytes FROM {table} ORDER BY id")
            for rowid, n_events, n_bytes in cursor:
                last_id = rowid
                dropped_batches, dropped_events = dropped_batches + 1, dropped_events + n_events
                freed, excess = freed + n_bytes, excess - n_bytes
                if excess <= 0:
                    break
            cursor.close()  # finish the read before deleting from the same table
            if last_id is not None:
                conn.execute(f"DELETE FROM {table} WHERE id <= ?", (last_id,))
        if dropped_batches:
            conn.execute(
                "UPDATE meta SET dropped_events = dropped_events + ?,"
                " dropped_batches = dropped_batches + ?, held_bytes = held_bytes - ? WHERE id = 1",
                (int(dropped_events), dropped_batches, freed),
            )
            self._maybe_vacuum(conn)

    def _maybe_vacuum(self, conn: sqlite3.Connection) -> None:
        (free_pages,) = conn.execute("PRAGMA freelist_count").fetchone()
        if free_pages > _VACUUM_FREE_PAGES:
            conn.execute("PRAGMA incremental_vacuum").fetchall()
