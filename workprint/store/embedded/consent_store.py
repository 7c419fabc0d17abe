"""The server's own consent record: every grant and revocation a person made, in time order.

Ingest judges events against this history at each event's ``t``, so the collector must record
a consent change before it ingests the events recorded under it (the recorder sends them in
that order). Records are kept until the person is erased.
"""

from __future__ import annotations

import time

import msgspec

from workprint.events import SCOPES
from workprint.store.embedded.database import Conn
from workprint.store.interface import ConsentRecord, StoreError

_scopes_decoder = msgspec.json.Decoder(tuple[str, ...])


def record(conn: Conn, person_id: str, entry: ConsentRecord) -> None:
    unknown = [s for s in entry.scopes if s not in SCOPES]
    if unknown:
        raise StoreError(f"unknown consent scope(s): {', '.join(unknown)}")
    if entry.action not in ("grant", "revoke"):
        raise StoreError(f"unknown consent action {entry.action!r}")
    if entry.t < 0 or entry.policy_version < 0:
        raise StoreError("consent time and policy version must not be negative")
    conn.execute(
        "INSERT INTO consents (person_id, t, action, scopes, policy_version, recorded_ns)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (
            person_id,
            entry.t,
            entry.action,
            msgspec.json.encode(list(entry.scopes)).decode(),
            entry.policy_version,
            time.time_ns(),
        ),
    )


def history(conn: Conn, person_id: str) -> list[ConsentRecord]:
    rows = conn.execute(
        "SELECT t, action, scopes, policy_version FROM consents WHERE person_id = ? ORDER BY t, id",
        (person_id,),
    ).fetchall()
    return [
        ConsentRecord(
            t=t, action=action, scopes=_scopes_decoder.decode(scopes), policy_version=version
        )
        for t, action, scopes, version in rows
    ]
