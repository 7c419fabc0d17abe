"""``EmbeddedStore``: the ``Store`` interface over a metadata ``Database`` and event-file
``Blobs``. docs/store.md describes the layout and the guarantees.

The embedded default is one directory: SQLite metadata (``SqliteDatabase``) and sealed Parquet
files (``LocalBlobs``). The same engine runs on the shared backend — PostgreSQL metadata and
event files in an S3 bucket (``workprint.store.backends``) — which several collector processes
and hosts use at once. Every write is one transaction serialised against every other writer;
concurrent ``ingest`` calls share their commit (``group.py``): each caller validates and seals
its batch in its own thread, then one transaction — one fsync — commits them all.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from contextlib import AbstractContextManager
from pathlib import Path
from types import TracebackType
from typing import Final, Self

import pyarrow as pa

from workprint.crypto.envelope import FileMasterKey, MasterKey
from workprint.store.embedded import audit, consent_store, files, identity, maintenance, reader
from workprint.store.embedded.blobs import Blobs, LocalBlobs
from workprint.store.embedded.database import Conn, Database
from workprint.store.embedded.ingest import Written
from workprint.store.embedded.intake import Intake
from workprint.store.embedded.keys import DataKeys
from workprint.store.embedded.schema import insert_meta, verify_meta
from workprint.store.embedded.sqlite_database import SqliteDatabase
from workprint.store.embedded.stats import StoreStats, collect_stats
from workprint.store.interface import (
    AuditEntry,
    AuditVerdict,
    BadRow,
    ConsentRecord,
    Device,
    Enrollment,
    ErasureReceipt,
    IngestResult,
    Person,
    Principal,
    RetentionResult,
    Role,
    Store,
    StoreError,
)

log = logging.getLogger(__name__)
_Step = Callable[[Conn, Written], maintenance.Outcome]
DEBRIS_AGE_S: Final = 3600.0  # unreferenced files younger than this may be another process's


class EmbeddedStore:
    """Use ``EmbeddedStore.open`` (the embedded default) or ``EmbeddedStore.open_shared``
    (metadata and event files elsewhere). Thread-safe; also usable as a context manager."""

    def __init__(
        self,
        root: Path,
        database: Database,
        storage: Blobs,
        master: MasterKey,
        audit_key: bytes,
        writers: files.WriterLock | None,
    ) -> None:
        self.root = root
        self.database = database
        self.storage = storage
        self._keys = DataKeys(master)
        self._audit_key = audit_key
        self._writers = writers
        self._closed = False
        # Files go to an object store before the transaction that names them (many writers
        # upload at once); local files are written inside it (see ``Intake``).
        early = writers is None
        self._intake = Intake(storage, self._keys, database.snapshot, self._write, early=early)
        self.group_commit = self._intake.group_commit  # for tests and benchmarks
        self.compactor = self._intake.compactor

    @classmethod
    def open(cls, data_dir: Path, master: MasterKey) -> EmbeddedStore:
        """Open (creating if missing) the store in ``data_dir`` and remove crash debris."""
        root = Path(data_dir).expanduser().absolute()
        if isinstance(master, FileMasterKey) and root in (master.path, *master.path.parents):
            raise StoreError(
                f"the master key {master.path} must not live inside the data directory {root}: "
                "a copy of the directory would carry its own key"
            )
        database = SqliteDatabase.open(root, master)
        try:
            store = cls(
                root,
                database,
                LocalBlobs(root),
                master,
                database.audit_key,
                files.WriterLock(root),
            )
        except BaseException:
            database.close()
            raise
        try:
            alone = store._writers is not None and store._writers.alone
            store.collect_debris(min_age_s=0.0 if alone else DEBRIS_AGE_S)
            if store._writers is not None:
                store._writers.share()
        except BaseException:
            store.close()
            raise
        return store

    @classmethod
    def open_shared(
        cls, root: Path, database: Database, storage: Blobs, master: MasterKey
    ) -> EmbeddedStore:
        """The store over a shared ``database`` and ``storage`` that other processes and hosts
        use at the same time (``workprint.store.backends``). ``root`` is this host's local state
        directory. Debris is left to ``collect_debris`` (``workprint admin compact``): listing
        the bucket at every start does not scale."""
        try:
            with database.write() as conn:
                if conn.execute("SELECT count(*) FROM meta").fetchone()[0] == 0:
                    insert_meta(conn, master)
                audit_key = verify_meta(conn, database.location, master)
        except BaseException:
            database.close()
            raise
        return cls(Path(root).expanduser().absolute(), database, storage, master, audit_key, None)

    def collect_debris(self, *, min_age_s: float = DEBRIS_AGE_S) -> int:
        """Remove event files no committed metadata names (a crash between writing a batch's
        files and committing them) that are older than ``min_age_s``; returns how many."""
        with self._write() as conn:
            referenced = {path for (path,) in conn.execute("SELECT path FROM files")}
            return self.storage.collect_garbage(referenced, min_age_s=min_age_s)

    # -- plumbing ----------------------------------------------------------------------------

    def _write(self) -> AbstractContextManager[Conn]:
        self._check_open()
        return self.database.write()

    def _read(self) -> AbstractContextManager[Conn]:
        self._check_open()
        return self.database.read()

    def _snapshot(self) -> AbstractContextManager[Conn]:
        """The last committed state, without waiting for a commit under way."""
        self._check_open()
        return self.database.snapshot()

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError(f"store {self.root} is closed")

    def _audit(
        self, conn: Conn, actor: str, action: str, target: str, details: str = ""
    ) -> AuditEntry:
        return audit.append(conn, self._audit_key, actor, action, target, details)

    # -- people, devices, credentials --------------------------------------------------------

    def add_person(self, name: str, role: Role, *, actor: str = "system") -> Person:
        with self._write() as conn:
            person = identity.insert_person(conn, name, role)
            self._keys.create(conn, person.id)
            self._audit(conn, actor, "person.add", person.id, f"role={person.role}")
        return person

    def get_person(self, person_id: str) -> Person | None:
        with self._snapshot() as conn:
            return identity.get_person(conn, person_id)

    def list_people(self) -> list[Person]:
        with self._snapshot() as conn:
            return identity.list_people(conn)

    def set_role(self, person_id: str, role: Role, *, actor: str) -> Person:
        with self._write() as conn:
            person, before = identity.set_role(conn, person_id, role)
            self._audit(conn, actor, "person.role", person_id, f"{before}->{person.role}")
        return person

    def create_enrollment_code(
        self, person_id: str, *, ttl_s: float = 86400, actor: str = "system"
    ) -> str:
        with self._write() as conn:
            code = identity.create_code(conn, person_id, ttl_s)
            self._audit(conn, actor, "device.enrollment_code", person_id, f"ttl_s={ttl_s:g}")
        return code

    def redeem_enrollment_code(self, code: str, device_name: str) -> Enrollment:
        with self._write() as conn:
            enrollment = identity.redeem_code(conn, code, device_name)
            self._audit(conn, enrollment.person_id, "device.enroll", enrollment.device_id)
        return enrollment

    def create_api_token(self, person_id: str, *, actor: str = "system") -> str:
        with self._write() as conn:
            token = identity.create_api_token(conn, person_id)
            self._audit(conn, actor, "token.create", person_id)
        return token

    def revoke_api_tokens(self, person_id: str, *, actor: str) -> int:
        with self._write() as conn:
            revoked = identity.revoke_api_tokens(conn, person_id)
            self._audit(conn, actor, "token.revoke", person_id, f"tokens={revoked}")
        return revoked

    def authenticate(self, token: str) -> Principal | None:
        with self._snapshot() as conn:
            return identity.authenticate(conn, token)

    def revoke_device(self, device_id: str, *, actor: str) -> None:
        with self._write() as conn:
            device = identity.revoke_device(conn, device_id)
            self._audit(conn, actor, "device.revoke", device_id, f"person={device.person_id}")

    def list_devices(self, person_id: str | None = None) -> list[Device]:
        with self._snapshot() as conn:
            return identity.list_devices(conn, person_id)

    # -- consent -----------------------------------------------------------------------------

    def record_consent(
        self, person_id: str, record: ConsentRecord, *, actor: str | None = None
    ) -> None:
        with self._write() as conn:
            identity.require_person(conn, person_id)
            consent_store.record(conn, person_id, record)
            details = (
                f"{record.action} {','.join(record.scopes)} v{record.policy_version} t={record.t}"
            )
            self._audit(conn, actor or person_id, "consent.record", person_id, details)

    def consent_history(self, person_id: str) -> list[ConsentRecord]:
        with self._snapshot() as conn:
            return consent_store.history(conn, person_id)

    # -- events ------------------------------------------------------------------------------

    def ingest(
        self,
        principal: Principal,
        batch_id: str,
        events: pa.Table,
        bad_rows: Sequence[BadRow] = (),
        *,
        validated: bool = False,
    ) -> IngestResult:
        return self.ingest_nowait(
            principal, batch_id, events, bad_rows, validated=validated
        ).result()

    def ingest_nowait(
        self,
        principal: Principal,
        batch_id: str,
        events: pa.Table,
        bad_rows: Sequence[BadRow] = (),
        *,
        validated: bool = False,
    ) -> Future[IngestResult]:
        """``ingest`` without waiting for the disk: validates, judges and seals the batch in
        this thread (raising for a batch refused whole), then queues it for the next group
        commit; the future resolves once the batch is durable (or failed)."""
        with self._snapshot() as snap:
            return self._intake.submit(
                snap, principal, batch_id, events, list(bad_rows), validated=validated
            )

    def read_events(
        self,
        person_id: str,
        *,
        start_ns: int | None = None,
        end_ns: int | None = None,
        actor: str,
    ) -> Iterator[pa.Table]:
        with self._write() as conn:
            identity.require_person(conn, person_id, live=False)
            refs = reader.file_refs(conn, person_id, start_ns, end_ns)
            key = self._keys.get(conn, person_id) if refs else b""
            span = f"start_ns={start_ns} end_ns={end_ns} files={len(refs)}"
            self._audit(conn, actor, "events.read", person_id, span)
        return reader.iter_tables(self.storage, key, refs, start_ns, end_ns)

    def bad_rows(self, person_id: str, *, actor: str = "system") -> list[BadRow]:
        with self._write() as conn:
            rows = conn.execute(
                "SELECT source, batch_id, idx, sealed FROM bad_rows WHERE person_id = ?"
                " ORDER BY id",
                (person_id,),
            ).fetchall()
            key = self._keys.get(conn, person_id) if rows else b""
            self._audit(conn, actor, "bad_rows.read", person_id, f"rows={len(rows)}")
        return reader.open_bad_rows(key, person_id, rows)

    # -- retention, erasure, compaction ------------------------------------------------------

    def apply_retention(
        self, now_ns: int, retention_days: float, *, actor: str = "system"
    ) -> RetentionResult:
        if not retention_days > 0:
            raise StoreError("retention must be a positive number of days")
        cutoff = now_ns - int(retention_days * files.NS_PER_DAY)
        outcome = self._maintain(
            lambda conn, written: maintenance.retain(
                conn, self.storage, self._keys, cutoff, written
            ),
            actor,
            "retention.apply",
            "events",
            f"days={retention_days:g} cutoff_ns={cutoff}",
        )
        return RetentionResult(
            events_deleted=outcome.events_deleted, files_rewritten=outcome.files_rewritten
        )

    def compact(self, day: str, *, actor: str = "system") -> int:
        """Merge each person's files of ``day`` (YYYY-MM-DD) into one; returns files merged."""
        files.day_start_ns(day)  # validates the form
        outcome = self._maintain(
            lambda conn, written: maintenance.compact(conn, self.storage, self._keys, day, written),
            actor,
            "events.compact",
            f"day={day}",
            "",
        )
        return outcome.files_rewritten

    def days(self) -> list[str]:
        with self._read() as conn:
            return [day for (day,) in conn.execute("SELECT DISTINCT day FROM files ORDER BY day")]

    def forget(self, person_id: str, *, actor: str) -> ErasureReceipt:
        with self.compactor.paused():  # no merge of their files in flight meanwhile
            outcome = self._maintain(
                lambda conn, _written: maintenance.erase(conn, self._keys, person_id),
                actor,
                "person.forget",
                person_id,
                "",
            )
            self.compactor.drain()  # merged files, unreferenced but not yet unlinked
        self._scrub()
        return ErasureReceipt(
            person_id=person_id,
            t=time.time_ns(),
            events_deleted=outcome.events_deleted,
            devices_revoked=outcome.devices_revoked,
            key_destroyed=outcome.key_destroyed,
        )

    def _scrub(self) -> None:
        """Rewrite the database so no old image of the erased rows (the destroyed key, the
        name) survives in its files. Best effort: the erasure itself has committed."""
        try:
            self.database.scrub()
        except StoreError as exc:
            log.warning("erasure committed, but the database could not be compacted: %s", exc)

    def _maintain(
        self, step: _Step, actor: str, action: str, target: str, details: str
    ) -> maintenance.Outcome:
        written = Written()
        try:
            with self._write() as conn:
                outcome: maintenance.Outcome = step(conn, written)
                summary = outcome.summary(action)
                self._audit(conn, actor, action, target, " ".join(filter(None, (details, summary))))
        except BaseException:
            self.storage.remove(written.paths)
            raise
        self.storage.remove(outcome.unlink)
        return outcome

    # -- audit -------------------------------------------------------------------------------

    def audit(self, actor: str, action: str, target: str, details: str = "") -> AuditEntry:
        with self._write() as conn:
            return self._audit(conn, actor, action, target, details)

    def audit_entries(self) -> list[AuditEntry]:
        with self._read() as conn:
            return audit.entries(conn)

    def verify_audit(self) -> AuditVerdict:
        with self._read() as conn:
            return audit.verify(conn, self._audit_key)

    def stats(self) -> StoreStats:
        with self._read() as conn:
            return collect_stats(conn, self.database.metadata_bytes())

    # -- lifetime ----------------------------------------------------------------------------

    def close(self) -> None:
        if self._closed:
            return
        self._intake.close()  # commits what is queued, so before the database goes
        self._closed = True
        self.database.close()
        if self._writers is not None:
            self._writers.release()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _conforms(store: EmbeddedStore) -> Store:
    """Never called: makes mypy check that EmbeddedStore implements the Store protocol."""
    return store
