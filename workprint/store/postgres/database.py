"""The store's metadata on PostgreSQL: ``PostgresDatabase`` implements the ``Database`` seam.

Writers of every process and host are serialised by one transaction-level advisory lock taken
right after ``BEGIN`` (the same round trip), which is what SQLite's ``BEGIN IMMEDIATE`` gives
the embedded store: the engine's check-then-insert steps (batch de-duplication, the audit chain
head) stay correct with several collectors. Reads that must see this process's last commit use
the writer's connection under the same in-process lock; snapshot reads use per-thread
autocommit connections (READ COMMITTED) and never wait for a writer.

A connection the server dropped (restart, crash, network) is discarded and reopened on the next
call; while the server is down every call raises ``StoreUnavailableError`` with one line.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any, Final

import psycopg
from psycopg import pq

from workprint.store.interface import StoreError, StoreUnavailableError
from workprint.store.postgres.connection import connect, store_error, translate, without_password

# pg_advisory_xact_lock key every workprint writer takes: b"wpwriter" as a signed 64-bit int
WRITER_LOCK_KEY: Final = int.from_bytes(b"wpwriter", "big", signed=True)
WRITER_LOCK_TIMEOUT_MS: Final = 60_000
SCRUBBED_TABLES: Final = (
    "people",
    "data_keys",
    "credentials",
    "devices",
    "enrollment_codes",
    "consents",
    "bad_rows",
)


class PgConn:
    """The slice of a DB-API connection the engine uses, over a psycopg connection: ``?``
    placeholders, one-line store errors, and a count of statements sent.

    ``reopen`` (reads only) replaces a connection found dead by the first statement and runs it
    again once: a connection kept from before a server restart fails only when used, and a read
    is safe to repeat."""

    def __init__(
        self,
        db: PostgresDatabase,
        raw: psycopg.Connection[Any],
        reopen: Callable[[], tuple[psycopg.Connection[Any], bool]] | None = None,
    ) -> None:
        self._db = db
        self.raw = raw
        self._reopen = reopen

    def execute(self, sql: str, parameters: Any = (), /) -> psycopg.ClientCursor[Any]:
        query = translate(sql)
        params = list(parameters)
        try:
            return self._run(lambda cursor: cursor.execute(query, params))
        finally:
            self._reopen = None

    def executemany(self, sql: str, parameters: Any, /) -> psycopg.ClientCursor[Any]:
        """Many parameter sets for one statement, pipelined: one round trip."""
        rows = [list(row) for row in parameters]
        if not rows:
            return psycopg.ClientCursor(self.raw)
        query = translate(sql)
        try:
            return self._run(lambda cursor: cursor.executemany(query, rows))
        finally:
            self._reopen = None

    def _run(
        self, send: Callable[[psycopg.ClientCursor[Any]], object]
    ) -> psycopg.ClientCursor[Any]:
        while True:
            cursor = psycopg.ClientCursor(self.raw)
            self._db.round_trips += 1
            try:
                send(cursor)
                return cursor
            except psycopg.Error as exc:
                error = self._db.failure(self.raw, exc)
                if self._reopen is None or not (self.raw.closed or self.raw.broken):
                    raise error from None
                reopen, self._reopen = self._reopen, None
                self.raw, _ = reopen()

    @property
    def in_transaction(self) -> bool:
        return self.raw.info.transaction_status != pq.TransactionStatus.IDLE


class PostgresDatabase:
    """Transactions over the store's metadata in one PostgreSQL database. Thread-safe."""

    def __init__(self, url: str, *, serialise_writers: bool = True) -> None:
        self.url = url
        # False for tables whose writes are single atomic upserts that need no ordering against
        # other writers (the portal's): they then never wait for the store's writers' lock.
        self._serialise = serialise_writers
        self._location = without_password(url)
        self._lock = threading.RLock()
        self._writer: psycopg.Connection[Any] | None = None
        self._local = threading.local()
        self._snapshots: list[psycopg.Connection[Any]] = []
        self._snapshots_lock = threading.Lock()
        self._closed = False
        # round trips to the server, for the benchmark: each statement sent, a pipelined
        # executemany once, BEGIN with the writers' lock once, each new connection once
        self.round_trips = 0

    @classmethod
    def open(cls, url: str) -> PostgresDatabase:
        """Bring the schema up to date (``migrate``), then connect."""
        from workprint.store.postgres.schema import migrate

        migrate(url)
        db = cls(url)
        try:
            with db._lock:
                db._writer_conn()
        except BaseException:
            db.close()
            raise
        return db

    @property
    def location(self) -> str:
        return self._location

    # connections ------------------------------------------------------------------------------
    def failure(self, raw: psycopg.Connection[Any], exc: psycopg.Error) -> StoreError:
        """The store error for ``exc``; a connection that died with it is dropped."""
        broken = raw.broken or raw.closed
        if broken:
            self._drop(raw)
        return store_error(exc, self._location, url=self.url, broken=broken)

    def _drop(self, raw: psycopg.Connection[Any]) -> None:
        if self._writer is raw:
            self._writer = None
        if getattr(self._local, "conn", None) is raw:
            self._local.conn = None
        with self._snapshots_lock:
            if raw in self._snapshots:
                self._snapshots.remove(raw)
        with suppress(psycopg.Error):
            raw.close()

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError(f"database {self._location} is closed")

    def _writer_conn(self) -> tuple[psycopg.Connection[Any], bool]:
        """The writer connection (caller holds the lock) and whether it was opened just now."""
        self._check_open()
        if self._writer is not None and not (self._writer.closed or self._writer.broken):
            if self._writer.info.transaction_status != pq.TransactionStatus.IDLE:
                self._rollback(self._writer)  # left in a transaction by an interrupted caller
            if self._writer is not None:
                return self._writer, False
        self._writer = None
        self.round_trips += 1
        self._writer = connect(
            self.url, location=self._location, lock_timeout_ms=WRITER_LOCK_TIMEOUT_MS
        )
        return self._writer, True

    def _snapshot_conn(self) -> tuple[psycopg.Connection[Any], bool]:
        self._check_open()
        raw: psycopg.Connection[Any] | None = getattr(self._local, "conn", None)
        if raw is not None and not (raw.closed or raw.broken):
            return raw, False
        if raw is not None:
            self._drop(raw)
        self.round_trips += 1
        raw = connect(self.url, location=self._location)
        self._local.conn = raw
        with self._snapshots_lock:
            self._snapshots.append(raw)
        return raw, True

    def _send(self, raw: psycopg.Connection[Any], sql: str) -> None:
        """An internal statement without parameters (simple protocol: several may go at once)."""
        self.round_trips += 1
        try:
            raw.execute(sql.encode())
        except psycopg.Error as exc:
            raise self.failure(raw, exc) from None

    # the Database protocol --------------------------------------------------------------------
    @contextmanager
    def write(self) -> Iterator[PgConn]:
        with self._lock:
            raw = self._begin()
            conn = PgConn(self, raw)
            try:
                yield conn
            except BaseException:
                self._rollback(raw)
                raise
            if raw.info.transaction_status == pq.TransactionStatus.INERROR:
                # a failed statement the caller caught: COMMIT would quietly roll back
                self._rollback(raw)
                raise StoreError(
                    f"database {self._location}: the transaction failed earlier and was rolled back"
                )
            try:
                self._send(raw, "COMMIT")
            except StoreUnavailableError as exc:
                raise StoreUnavailableError(
                    f"{exc} (while committing: the transaction may or may not have been applied)"
                ) from None

    def _begin(self) -> psycopg.Connection[Any]:
        """BEGIN and take the writers' lock in one round trip; a connection found dead here
        (the server restarted since its last use) is replaced once, transparently."""
        begin = f"BEGIN; SELECT pg_advisory_xact_lock({WRITER_LOCK_KEY})"
        if not self._serialise:
            begin = "BEGIN"
        raw, fresh = self._writer_conn()
        try:
            self._send(raw, begin)
        except StoreUnavailableError:
            if fresh or self._writer is raw:  # a live connection that failed: not stale
                self._rollback(raw)  # e.g. lock_timeout: BEGIN went through, the lock did not
                raise
            raw, _ = self._writer_conn()
            try:
                self._send(raw, begin)
            except StoreError:
                self._rollback(raw)
                raise
        except StoreError:
            self._rollback(raw)
            raise
        return raw

    def _rollback(self, raw: psycopg.Connection[Any]) -> None:
        if raw.closed or raw.broken:
            self._drop(raw)
            return
        if raw.info.transaction_status == pq.TransactionStatus.IDLE:
            return
        try:
            self._send(raw, "ROLLBACK")
        except StoreError:
            self._drop(raw)

    @contextmanager
    def read(self) -> Iterator[PgConn]:
        with self._lock:
            raw, fresh = self._writer_conn()
            yield PgConn(self, raw, None if fresh else self._writer_conn)

    @contextmanager
    def snapshot(self) -> Iterator[PgConn]:
        raw, fresh = self._snapshot_conn()
        yield PgConn(self, raw, None if fresh else self._snapshot_conn)

    def scrub(self) -> bool:
        """Rewrite the tables that held an erased person's rows (``VACUUM (FULL)`` writes new
        files and unlinks the old ones), then ``CHECKPOINT`` so the WAL that still holds the old
        row images can be recycled. False if a table was skipped (the role does not own it) or
        the role may not checkpoint (it needs ``pg_checkpoint`` or superuser).

        What remains until PostgreSQL recycles them: WAL segments (and any WAL archive or
        replica) with the old rows of those tables: names, credential hashes, consent records,
        sealed bad rows, and data keys, which are wrapped by the master key and useless without
        it; and the freed blocks of the unlinked files on the disk."""
        self._check_open()
        skipped: list[str] = []
        with self._lock:
            raw = connect(self.url, location=self._location)
            raw.add_notice_handler(
                lambda notice: (
                    skipped.append(notice.message_primary or "")
                    if (notice.message_primary or "").startswith("skipping")
                    else None
                )
            )
            try:
                self._send(raw, f"VACUUM (FULL) {', '.join(SCRUBBED_TABLES)}")
                self.round_trips += 1
                try:
                    raw.execute(b"CHECKPOINT")
                except psycopg.errors.InsufficientPrivilege:
                    return False
                except psycopg.Error as exc:
                    raise self.failure(raw, exc) from None
                return not skipped
            finally:
                raw.close()

    def metadata_bytes(self) -> int:
        """The database's size on disk (tables, indexes, TOAST; not the cluster's WAL)."""
        with self.snapshot() as conn:
            row = conn.execute("SELECT pg_database_size(current_database())").fetchone()
        return 0 if row is None else int(row[0])

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._writer is not None:
                self._writer.close()
                self._writer = None
            with self._snapshots_lock:
                snapshots, self._snapshots = self._snapshots, []
            for raw in snapshots:
                raw.close()
