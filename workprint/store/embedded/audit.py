"""The audit log: an append-only, hash-chained table, anchored by a key only the master unlocks.

Each entry's ``hash`` is SHA-256(prev_hash || canonical bytes of the entry), so editing an entry
breaks its own hash and deleting one leaves a gap in the ids and a break in the chain. Someone
who edits an entry *and* recomputes every later hash would produce a consistent chain; two keyed
checks stop that: every entry carries an HMAC of its hash, and ``meta`` holds the head (last id
and hash) with an HMAC, both under an audit key wrapped by the master key. Without the master
key an edit, deletion, re-numbering or truncation is detected and the first bad entry named.

Entries must never carry personal content (names, typed text): they cannot be erased.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Final

import msgspec

from workprint.store.embedded.database import Conn
from workprint.store.interface import AuditEntry, AuditVerdict

_HEAD_PREFIX: Final = b"workprint audit head v1\x00"
_ENTRY_PREFIX: Final = b"workprint audit entry v1\x00"
_encoder = msgspec.json.Encoder()


def canonical(entry_id: int, t: int, actor: str, action: str, target: str, details: str) -> bytes:
    """The bytes an entry's hash covers: a JSON array of its fields, in a fixed order."""
    return _encoder.encode([entry_id, t, actor, action, target, details])


def chain_hash(prev_hash: str, body: bytes) -> str:
    return hashlib.sha256(bytes.fromhex(prev_hash) + body).hexdigest()


def head_mac(audit_key: bytes, head_id: int, head_hash: str) -> bytes:
    message = _HEAD_PREFIX + head_id.to_bytes(8, "big") + bytes.fromhex(head_hash)
    return hmac.new(audit_key, message, hashlib.sha256).digest()


def entry_mac(audit_key: bytes, entry_hash: str) -> bytes:
    return hmac.new(audit_key, _ENTRY_PREFIX + bytes.fromhex(entry_hash), hashlib.sha256).digest()


def append(
    conn: Conn,
    audit_key: bytes,
    actor: str,
    action: str,
    target: str,
    details: str = "",
) -> AuditEntry:
    """Append one entry inside the caller's write transaction (so it commits with the action)."""
    head_id, prev_hash = conn.execute(
        "SELECT audit_head_id, audit_head_hash FROM meta WHERE id = 1"
    ).fetchone()
    entry_id = int(head_id) + 1
    t = time.time_ns()
    digest = chain_hash(prev_hash, canonical(entry_id, t, actor, action, target, details))
    conn.execute(
        "INSERT INTO audit (id, t, actor, action, target, details, prev_hash, hash, mac)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            entry_id,
            t,
            actor,
            action,
            target,
            details,
            prev_hash,
            digest,
            entry_mac(audit_key, digest),
        ),
    )
    conn.execute(
        "UPDATE meta SET audit_head_id = ?, audit_head_hash = ?, audit_head_mac = ? WHERE id = 1",
        (entry_id, digest, head_mac(audit_key, entry_id, digest)),
    )
    return AuditEntry(
        id=entry_id,
        t=t,
        actor=actor,
        action=action,
        target=target,
        details=details,
        prev_hash=prev_hash,
        hash=digest,
    )


def entries(conn: Conn) -> list[AuditEntry]:
    rows = conn.execute(
        "SELECT id, t, actor, action, target, details, prev_hash, hash FROM audit ORDER BY id"
    ).fetchall()
    return [
        AuditEntry(
            id=row[0],
            t=row[1],
            actor=row[2],
            action=row[3],
            target=row[4],
            details=row[5],
            prev_hash=row[6],
            hash=row[7],
        )
        for row in rows
    ]


def verify(conn: Conn, audit_key: bytes) -> AuditVerdict:
    """Recompute the chain; the verdict names the first entry that was edited or removed."""
    prev_hash = "0" * 64
    expected = 1
    count = 0
    cursor = conn.execute(
        "SELECT id, t, actor, action, target, details, prev_hash, hash, mac FROM audit ORDER BY id"
    )
    for entry_id, t, actor, action, target, details, stored_prev, stored_hash, mac in cursor:
        if entry_id != expected:
            return _bad(count, expected, f"entry {expected} is missing (ids jump to {entry_id})")
        body = canonical(entry_id, t, actor, action, target, details)
        if not _is_hex64(stored_prev) or chain_hash(stored_prev, body) != stored_hash:
            return _bad(count, entry_id, f"entry {entry_id} was altered (its hash does not match)")
        if not hmac.compare_digest(entry_mac(audit_key, stored_hash), _blob(mac)):
            return _bad(count, entry_id, f"entry {entry_id} was rewritten (its seal is invalid)")
        if stored_prev != prev_hash:
            return _bad(
                count,
                entry_id - 1,
                f"entry {entry_id - 1} was altered (entry {entry_id} chains to another hash)",
            )
        prev_hash = stored_hash
        count += 1
        expected += 1
    head_id, head_hash, mac = conn.execute(
        "SELECT audit_head_id, audit_head_hash, audit_head_mac FROM meta WHERE id = 1"
    ).fetchone()
    if not _is_hex64(head_hash) or not hmac.compare_digest(
        head_mac(audit_key, int(head_id), head_hash), _blob(mac)
    ):
        return _bad(count, None, "the audit head record was altered")
    if head_id != count:
        first = count + 1
        return _bad(count, first, f"entries {first}..{head_id} were removed from the end")
    if head_hash != prev_hash:
        return _bad(count, count, f"entry {count} was altered (the head records another hash)")
    return AuditVerdict(ok=True, entries=count)


def _bad(count: int, entry_id: int | None, reason: str) -> AuditVerdict:
    return AuditVerdict(ok=False, entries=count, first_bad_id=entry_id, reason=reason)


def _is_hex64(value: object) -> bool:
    if not isinstance(value, str) or len(value) != 64:
        return False
    try:
        bytes.fromhex(value)
    except ValueError:
        return False
    return True


def _blob(value: object) -> bytes:
    return bytes(value) if isinstance(value, bytes | bytearray | memoryview) else b""
