"""Opportunistic compaction: a person's small files of a day are merged while ingest goes on.

Every batch is a sealed file of its own, and a small file costs its Parquet footer: a 100-event
file takes ~15 bytes per event, a merged file of 8,000 events ~4.5. A background thread watches
what the group commits add per (person, day) and, once that day's small files of a person hold
``TRIGGER_ROWS`` events (or number ``TRIGGER_FILES``), merges them into one. Each event is
rewritten about once: a merged file is no longer small. ``workprint admin compact`` still merges
whole days into one file.

A merge reads and writes its file outside the store's lock (``files.WriterLock`` keeps another
process from taking the new file for debris), then swaps the index rows in one short
transaction that first checks the files it merged are all still there (retention, erasure or
another compaction may have run meanwhile; then it gives up and removes its file). The merged
files are unlinked ``GRACE_S`` later, so that a reader that listed them just before can finish;
if the process dies first, they are unreferenced debris the next open removes.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Final

import pyarrow as pa

from workprint.store.embedded import files
from workprint.store.embedded.blobs import Blobs
from workprint.store.embedded.database import Conn
from workprint.store.embedded.keys import DataKeys
from workprint.store.interface import StoreError

log = logging.getLogger(__name__)

SMALL_ROWS: Final = 8_192  # a file with fewer events is small
TRIGGER_ROWS: Final = 8_192
TRIGGER_FILES: Final = 64
MAX_FILES: Final = 256  # merged in one step
GRACE_S: Final = 60.0
# A merge waits while ingest is busy (batches queued or being committed): at peak load the
# merge would take CPU from ingest under the same GIL. It waits at most MAX_YIELD_S, or until
# MAX_DUE person-days are due, so files per person-day stay bounded under sustained load.
YIELD_STEP_S: Final = 0.05
MAX_YIELD_S: Final = 30.0
MAX_DUE: Final = 512
_ORDER: Final = [("t", "ascending"), ("seq", "ascending")]
PersonDay = tuple[str, str]


class _Stale(Exception):
    """The files to merge changed under us; try again when more arrive."""


class AutoCompactor:
    """The background merger. ``note`` what each group commit added; ``stop`` at close."""

    def __init__(
        self,
        storage: Blobs,
        keys: DataKeys,
        snapshot: Callable[[], AbstractContextManager[Conn]],
        write: Callable[[], AbstractContextManager[Conn]],
        ingest_busy: Callable[[], bool] = lambda: False,
    ) -> None:
        self._storage = storage
        self._ingest_busy = ingest_busy
        self._keys = keys
        self._snapshot = snapshot
        self._write = write
        self._cond = threading.Condition()
        self._added: dict[PersonDay, tuple[int, int]] = {}  # small files, rows since last merge
        self._due: deque[PersonDay] = deque()
        self._graveyard: deque[tuple[float, list[str]]] = deque()
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._step = threading.Lock()  # held for each merge; ``paused`` takes it
        self.merged = 0  # files merged away so far

    def note(self, touched: dict[PersonDay, tuple[int, int]]) -> None:
        """Count the small files a commit added; wake the thread when a person-day is due."""
        with self._cond:
            woke = False
            for person_day, (n_files, n_rows) in touched.items():
                if n_rows >= SMALL_ROWS * n_files:
                    continue  # large files only: nothing to merge
                have_files, have_rows = self._added.get(person_day, (0, 0))
                have_files, have_rows = have_files + n_files, have_rows + n_rows
                if have_rows >= TRIGGER_ROWS or have_files >= TRIGGER_FILES:
                    self._added.pop(person_day, None)
                    self._due.append(person_day)
                    woke = True
                else:
                    self._added[person_day] = (have_files, have_rows)
            if self._thread is None and not self._stopping:
                self._thread = threading.Thread(
                    target=self._run, name="workprint-store-compactor", daemon=True
                )
                self._thread.start()
            if woke:
                self._cond.notify()

    def stop(self) -> None:
        """Finish the merge under way, then unlink every merged file now."""
        with self._cond:
            self._stopping = True
            thread = self._thread
            self._cond.notify()
        if thread is not None:
            thread.join()
        self.drain()

    @contextmanager
    def paused(self) -> Iterator[None]:
        """No merge runs inside this block (one under way finishes first)."""
        with self._step:
            yield

    def drain(self) -> None:
        """Unlink the merged files now (erasure does not wait for the grace period)."""
        with self._cond:
            doomed = [path for _, paths in self._graveyard for path in paths]
            self._graveyard.clear()
        self._storage.remove(doomed)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._stopping and not self._due and not self._expired():
                    wait = self._graveyard[0][0] - time.monotonic() if self._graveyard else None
                    self._cond.wait(wait)
                if self._stopping:
                    return
                person_day = self._due.popleft() if self._due else None
                expired = self._pop_expired()
            self._storage.remove(expired)
            if person_day is not None:
                self._yield_to_ingest()
                try:
                    with self._step:
                        self.merged += self.compact(*person_day)
                except Exception as exc:  # never kill the thread; the files stay as they are
                    log.warning("background compaction of %s failed: %s", person_day[1], exc)

    def _yield_to_ingest(self) -> None:
        """Wait for a lull in ingest (bounded: MAX_YIELD_S, MAX_DUE, or stopping)."""
        deadline = time.monotonic() + MAX_YIELD_S
        while self._ingest_busy() and time.monotonic() < deadline:
            with self._cond:
                if self._stopping or len(self._due) >= MAX_DUE:
                    return
                self._cond.wait(YIELD_STEP_S)

    def _expired(self) -> bool:
        return bool(self._graveyard) and self._graveyard[0][0] <= time.monotonic()

    def _pop_expired(self) -> list[str]:
        out: list[str] = []
        while self._expired():
            out.extend(self._graveyard.popleft()[1])
        return out

    def compact(self, person: str, day: str) -> int:
        """Merge ``person``'s small files of ``day``; returns how many were merged."""
        with self._snapshot() as snap:
            rows = snap.execute(
                "SELECT f.id, f.path, p.bucket FROM files f JOIN people p ON p.id = f.person_id"
                " WHERE f.person_id = ? AND f.day = ? AND f.rows < ? AND p.erased_ns IS NULL"
                " ORDER BY f.t_min LIMIT ?",
                (person, day, SMALL_ROWS, MAX_FILES),
            ).fetchall()
            if len(rows) < 2:
                return 0
            bucket = rows[0][2]
            try:
                key = self._keys.get(snap, person)
            except StoreError:
                return 0  # erased meanwhile
        try:
            tables = [files.read_sealed(self._storage, key, path) for _, path, _ in rows]
        except (FileNotFoundError, StoreError):
            return 0  # erased, or retention or another compaction got there first
        merged = pa.concat_tables(tables).sort_by(_ORDER).combine_chunks()
        file_id = files.new_file_id()
        rel = files.relative_path(day, bucket, file_id)
        blob = files.seal_table(key, merged, day=day, bucket=bucket, file_id=file_id)
        self._storage.write(rel, blob)
        ids = [file_id for file_id, _, _ in rows]
        marks = ", ".join("?" * len(ids))
        t = merged.column("t")
        try:
            with self._write() as conn:
                (present,) = conn.execute(
                    f"SELECT count(*) FROM files WHERE id IN ({marks})", ids
                ).fetchone()
                live = conn.execute(
                    "SELECT 1 FROM people WHERE id = ? AND erased_ns IS NULL", (person,)
                ).fetchone()
                if present != len(ids) or live is None:
                    raise _Stale
                conn.execute(f"DELETE FROM files WHERE id IN ({marks})", ids)
                conn.execute(
                    "INSERT INTO files (id, person_id, day, path, rows, t_min, t_max, bytes,"
                    " created_ns) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        file_id,
                        person,
                        day,
                        rel,
                        merged.num_rows,
                        t[0].as_py(),
                        t[-1].as_py(),
                        len(blob),
                        time.time_ns(),
                    ),
                )
        except _Stale:
            self._storage.remove([rel])
            return 0
        except BaseException:
            self._storage.remove([rel])
            raise
        with self._cond:
            self._graveyard.append((time.monotonic() + GRACE_S, [path for _, path, _ in rows]))
        return len(rows)
