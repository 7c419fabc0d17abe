"""The ingest path of the embedded store: a batch is prepared in its caller's thread, then
made durable with others by one group commit.

``submit`` validates, judges and seals a batch in the caller's thread (``ingest.prepare``;
a batch refused whole raises there, before it can touch anyone else's) and queues it; the
committer thread (``group.GroupCommit``) takes everything queued, writes the batches' files and
records them in one transaction (``commit.commit_group``) — one fsync of the database for the
whole group — and resolves each batch's future. The background compactor then merges the small
files the groups add (``autocompact``).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager
from typing import Final

import pyarrow as pa

from workprint.store.embedded.autocompact import AutoCompactor
from workprint.store.embedded.blobs import Blobs
from workprint.store.embedded.commit import GroupOutcome, commit_group
from workprint.store.embedded.database import Conn
from workprint.store.embedded.group import GroupCommit
from workprint.store.embedded.ingest import ConsentCache, Prepared, prepare, write_files
from workprint.store.embedded.keys import DataKeys
from workprint.store.interface import BadRow, IngestResult, Principal, StoreError

MAX_GROUP_BATCHES: Final = 256  # batches committed together, at most
MAX_GROUP_EVENTS: Final = 500_000
WRITER_THREADS: Final = 16  # event files being written or uploaded at once, per pool


class Intake:
    """Prepares batches, commits them in groups, compacts what the groups wrote."""

    def __init__(
        self,
        storage: Blobs,
        keys: DataKeys,
        snapshot: Callable[[], AbstractContextManager[Conn]],
        write: Callable[[], AbstractContextManager[Conn]],
        *,
        early: bool = False,
    ) -> None:
        self._storage = storage
        self._early = early
        # Two pools (threads start only when used): early uploads feed the group commit, which
        # writes local files on its own pool, so each can be drained in turn at close.
        self._uploads = ThreadPoolExecutor(WRITER_THREADS, thread_name_prefix="workprint-upload")
        self._writers = ThreadPoolExecutor(WRITER_THREADS, thread_name_prefix="workprint-write")
        self._keys = keys
        self._write = write
        self._consents = ConsentCache()
        self.group_commit: GroupCommit[Prepared, IngestResult] = GroupCommit(
            self._commit_group, max_items=MAX_GROUP_BATCHES, max_weight=MAX_GROUP_EVENTS
        )
        self.compactor = AutoCompactor(storage, keys, snapshot, write, self._ingest_busy)

    def submit(
        self,
        snap: Conn,
        principal: Principal,
        batch_id: str,
        events: pa.Table,
        bad_rows: list[BadRow],
        *,
        validated: bool = False,
    ) -> Future[IngestResult]:
        prepared = prepare(
            snap,
            self._storage,
            self._keys,
            self._consents,
            principal,
            batch_id,
            events,
            bad_rows,
            validated=validated,
        )
        if isinstance(prepared, IngestResult):  # a replay: nothing to write
            done: Future[IngestResult] = Future()
            done.set_result(prepared)
            return done
        if self._early:
            return self._upload_then_commit(prepared)
        return self.group_commit.submit(prepared, weight=max(1, prepared.sent))

    def _upload_then_commit(self, prepared: Prepared) -> Future[IngestResult]:
        """Object storage: upload the batch's files on the upload pool (many at once: each PUT
        waits on the network, not the CPU), then queue it for the group commit."""
        outcome: Future[IngestResult] = Future()

        def settle(done: Future[IngestResult]) -> None:
            error = done.exception()
            if error is not None:
                outcome.set_exception(error)
            else:
                outcome.set_result(done.result())

        def uploaded(upload: Future[None]) -> None:
            error = upload.exception()
            if error is not None:
                outcome.set_exception(error)
                return
            prepared.blobs = []
            prepared.written = True
            try:
                queued = self.group_commit.submit(prepared, weight=max(1, prepared.sent))
            except BaseException as exc:  # closing: nothing commits it, so nothing names it
                self._storage.remove(prepared.paths)
                outcome.set_exception(exc)
                return
            queued.add_done_callback(settle)

        self._uploads.submit(
            write_files, self._storage, prepared.parts, prepared.blobs
        ).add_done_callback(uploaded)
        return outcome

    def _commit_group(self, items: list[Prepared]) -> list[IngestResult | BaseException]:
        """Write the group's files and record them all in one transaction (``GroupCommit``
        calls this in its thread). Local files are written inside the transaction, so no other
        writer — an erasure, another process's debris sweep — runs in between; a batch whose
        files cannot be written fails alone. Object-store files were uploaded before
        (``_upload_then_commit``): their debris is swept only when an hour old."""
        outcomes: list[IngestResult | BaseException | None] = [None] * len(items)
        ready: list[int] = []
        outcome = GroupOutcome()
        try:
            with self._write() as conn:
                self._write_group_files(items, outcomes, ready)
                commit_group(conn, self._storage, [items[i] for i in ready], outcome)
        except BaseException:  # nothing committed: no file of the group is referenced
            paths = [path for i in ready for path in items[i].paths]
            self._storage.remove(paths + outcome.written)
            raise
        self._storage.remove(outcome.unlink)
        self.compactor.note(outcome.touched)
        for i, result in zip(ready, outcome.results, strict=True):
            outcomes[i] = result
        return [o if o is not None else StoreError("not committed") for o in outcomes]

    def _write_group_files(
        self,
        items: list[Prepared],
        outcomes: list[IngestResult | BaseException | None],
        ready: list[int],
    ) -> None:
        """Write the files of every batch not yet written, all at once on the writer pool; add
        to ``ready`` the index of each batch whose files are all durable. In parallel because each
        file waits on its own fsyncs (about 6 ms here, one after the other): the disk takes many
        at once for little more than the price of one, so a group of 100 batches costs ~25 ms
        of commit time instead of ~600 ms."""
        pending = {
            i: self._writers.submit(write_files, self._storage, item.parts, item.blobs)
            for i, item in enumerate(items)
            if not item.written
        }
        for i, item in enumerate(items):
            try:
                if i in pending:
                    pending[i].result()
                ready.append(i)
            except Exception as exc:
                outcomes[i] = exc
            item.blobs = []

    def _ingest_busy(self) -> bool:
        return self.group_commit.busy or self.group_commit.queued() > 0

    def close(self) -> None:
        """Finish the uploads, commit what is queued, finish a merge under way (the last two
        need the store's lock)."""
        self._uploads.shutdown(wait=True)
        self.group_commit.close()
        self._writers.shutdown(wait=True)
        self.compactor.stop()
