"""The storage interface the collector, the builders and the admin commands use.

The embedded default (``workprint.store.embedded``) keeps metadata in SQLite and events in Parquet
files under one directory; a PostgreSQL + object-storage backend implements the same protocol
later. Everything here is batch-oriented: events go in and come out as Arrow tables in
``workprint.events.columnar.EVENT_SCHEMA`` — never one Python object per event.

Identities: a *person* has a role; a *device* belongs to a person and writes only that person's
events; *tokens* (device credentials and personal API tokens) are random secrets of which the
store keeps only a hash.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Literal, Protocol

import msgspec

if TYPE_CHECKING:
    import pyarrow as pa

from workprint.errors import WorkprintError

Role = Literal["subject", "steward", "researcher", "admin"]
ROLES: tuple[Role, ...] = ("subject", "steward", "researcher", "admin")


class StoreError(WorkprintError):
    """A request the store refuses or cannot carry out; the message is one line."""


class StoreUnavailableError(StoreError):
    """The metadata database or the object store cannot be reached right now (restarting,
    network): nothing was changed, and the same call may be retried later."""


class NotFoundError(StoreError):
    """An unknown person, device or entry."""


class CredentialError(StoreError):
    """An enrollment code, device or person that may not act (unknown, expired, used, revoked,
    erased)."""


class Person(msgspec.Struct, frozen=True, kw_only=True):
    id: str  # random, stable; never derived from the name
    name: str
    role: Role
    created_ns: int
    erased_ns: int | None = None


class Device(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    person_id: str
    name: str
    created_ns: int
    revoked_ns: int | None = None


class Principal(msgspec.Struct, frozen=True, kw_only=True):
    """Who is calling: the person (and their role) and, for a device credential, the device."""

    person_id: str
    role: Role
    device_id: str | None = None


class Enrollment(msgspec.Struct, frozen=True, kw_only=True):
    """What a device receives once, when it redeems its one-time code."""

    device_id: str
    person_id: str
    token: str  # shown once; the store keeps its hash


class ConsentRecord(msgspec.Struct, frozen=True, kw_only=True):
    t: int
    action: Literal["grant", "revoke"]
    scopes: tuple[str, ...]
    policy_version: int


class BadRow(msgspec.Struct, frozen=True, kw_only=True):
    """An event the collector could not accept, kept with its reason (never silently lost)."""

    index: int  # position in the batch
    reason: str
    raw: bytes = b""  # the offending encoded event, sealed by the store like any content


class IngestResult(msgspec.Struct, frozen=True, kw_only=True):
    batch_id: str
    accepted: int  # newly stored
    duplicates: int  # already stored earlier (same device, same seq): not stored again
    rejected: int  # bad rows + out-of-consent events
    rejected_consent: int = 0
    replayed: bool = False  # the whole batch id was seen before: nothing written


class RetentionResult(msgspec.Struct, frozen=True, kw_only=True):
    events_deleted: int
    files_rewritten: int


class ErasureReceipt(msgspec.Struct, frozen=True, kw_only=True):
    person_id: str
    t: int
    events_deleted: int
    devices_revoked: int
    key_destroyed: bool


class AuditEntry(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    t: int
    actor: str  # person id, or "system"
    action: str  # e.g. "events.read", "events.export", "person.forget", "policy.update"
    target: str
    details: str
    prev_hash: str
    hash: str


class AuditVerdict(msgspec.Struct, frozen=True, kw_only=True):
    ok: bool
    entries: int
    first_bad_id: int | None = None
    reason: str = ""


class Store(Protocol):
    """What every storage backend offers. Every method is safe to call from several threads."""

    # people, devices, credentials -----------------------------------------------------------
    def add_person(self, name: str, role: Role) -> Person: ...
    def get_person(self, person_id: str) -> Person | None: ...
    def list_people(self) -> list[Person]: ...
    def set_role(self, person_id: str, role: Role, *, actor: str) -> Person: ...
    def create_enrollment_code(self, person_id: str, *, ttl_s: float = 86400) -> str: ...
    def redeem_enrollment_code(self, code: str, device_name: str) -> Enrollment: ...
    def create_api_token(self, person_id: str) -> str: ...
    def revoke_api_tokens(self, person_id: str, *, actor: str) -> int:
        """Revoke every personal API token of the person at once (audited); returns the count.
        Device credentials are revoked per device (``revoke_device``)."""
        ...

    def authenticate(self, token: str) -> Principal | None: ...
    def revoke_device(self, device_id: str, *, actor: str) -> None: ...
    def list_devices(self, person_id: str | None = None) -> list[Device]: ...

    # consent (the server's own record; enforced again at ingest) ----------------------------
    def record_consent(self, person_id: str, record: ConsentRecord) -> None: ...
    def consent_history(self, person_id: str) -> list[ConsentRecord]: ...

    # events ---------------------------------------------------------------------------------
    def ingest(
        self,
        principal: Principal,
        batch_id: str,
        events: pa.Table,
        bad_rows: Sequence[BadRow] = (),
        *,
        validated: bool = False,
    ) -> IngestResult:
        """Store a device's batch exactly once: a repeated ``batch_id`` is a replay (nothing
        written); events whose (device, seq) is already stored are counted as duplicates; events
        of a scope the person had not granted at their ``t`` are rejected and counted. Durable
        (fsync'd) before it returns. All or nothing: a failure writes no part of the batch.

        Every row is checked against the event model unless ``validated``: the caller built the
        table with ``events_to_table`` from ``Event`` structs msgspec decoded, which checked
        the same rules already (the collector's path)."""
        ...

    def read_events(
        self,
        person_id: str,
        *,
        start_ns: int | None = None,
        end_ns: int | None = None,
        actor: str,
    ) -> Iterator[pa.Table]:
        """One person's events, decrypted, in (t, seq) order, as Arrow tables. Audited."""
        ...

    def bad_rows(self, person_id: str, *, actor: str = "system") -> list[BadRow]:
        """A person's bad rows, decrypted. Audited (it is raw data)."""
        ...

    # retention, erasure, audit --------------------------------------------------------------
    def apply_retention(
        self, now_ns: int, retention_days: float, *, actor: str = "system"
    ) -> RetentionResult:
        """Delete raw events older than ``retention_days`` (the policy's setting)."""
        ...

    def forget(self, person_id: str, *, actor: str) -> ErasureReceipt: ...
    def audit(self, actor: str, action: str, target: str, details: str = "") -> AuditEntry: ...
    def audit_entries(self) -> list[AuditEntry]: ...
    def verify_audit(self) -> AuditVerdict: ...

    def close(self) -> None: ...
