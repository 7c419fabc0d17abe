"""People, devices and their credentials; the store keeps only hashes of secrets.

Tokens are 32 random bytes (URL-safe base64, with a prefix saying what they are), so a plain
SHA-256 is a sound verifier: there is nothing to brute-force. The lookup is by hash and the
final comparison constant-time. Enrollment codes are one-time, expire, and carry 80 random bits
in a form a person can type (Crockford base32, dashes and case ignored).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from typing import Final

from workprint.store.embedded.database import Conn
from workprint.store.interface import (
    ROLES,
    CredentialError,
    Device,
    Enrollment,
    NotFoundError,
    Person,
    Principal,
    Role,
    StoreError,
)

DEVICE_TOKEN_PREFIX: Final = "wpd_"
API_TOKEN_PREFIX: Final = "wpa_"
_CODE_ALPHABET: Final = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32
_CODE_CHARS: Final = 16  # 80 bits
_MAX_NAME: Final = 200


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(8)}"


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def new_token(prefix: str) -> str:
    return prefix + base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")


def normalise_code(code: str) -> str:
    return "".join(code.split()).replace("-", "").upper()


def code_hash(code: str) -> bytes:
    return hashlib.sha256(b"workprint enrollment code\x00" + normalise_code(code).encode()).digest()


def new_code() -> str:
    chars = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(_CODE_CHARS))
    return "-".join(chars[i : i + 4] for i in range(0, _CODE_CHARS, 4))


def check_name(name: str, what: str) -> str:
    name = name.strip()
    if not name or len(name) > _MAX_NAME or any(ord(c) < 32 for c in name):
        raise StoreError(f"{what} must be 1 to {_MAX_NAME} printable characters")
    return name


def check_role(role: str) -> Role:
    if role not in ROLES:
        raise StoreError(f"unknown role {role!r} (one of: {', '.join(ROLES)})")
    return role


def insert_person(conn: Conn, name: str, role: Role) -> Person:
    person = Person(
        id=new_id("p"),
        name=check_name(name, "a name"),
        role=check_role(role),
        created_ns=time.time_ns(),
    )
    conn.execute(
        "INSERT INTO people (id, name, role, bucket, created_ns) VALUES (?, ?, ?, ?, ?)",
        (person.id, person.name, person.role, secrets.token_hex(8), person.created_ns),
    )
    return person


def get_person(conn: Conn, person_id: str) -> Person | None:
    row = conn.execute(
        "SELECT id, name, role, created_ns, erased_ns FROM people WHERE id = ?", (person_id,)
    ).fetchone()
    return None if row is None else _person(row)


def require_person(conn: Conn, person_id: str, *, live: bool = True) -> Person:
    person = get_person(conn, person_id)
    if person is None:
        raise NotFoundError(f"no person {person_id}")
    if live and person.erased_ns is not None:
        raise CredentialError(f"person {person_id} was erased")
    return person


def list_people(conn: Conn) -> list[Person]:
    rows = conn.execute(
        "SELECT id, name, role, created_ns, erased_ns FROM people ORDER BY created_ns, id"
    ).fetchall()
    return [_person(row) for row in rows]


def _person(row: tuple[str, str, str, int, int | None]) -> Person:
    return Person(
        id=row[0], name=row[1], role=check_role(row[2]), created_ns=row[3], erased_ns=row[4]
    )


def set_role(conn: Conn, person_id: str, role: Role) -> tuple[Person, Role]:
    """Returns the updated person and the role they had before."""
    before = require_person(conn, person_id)
    conn.execute("UPDATE people SET role = ? WHERE id = ?", (check_role(role), person_id))
    return require_person(conn, person_id), before.role


def create_code(conn: Conn, person_id: str, ttl_s: float) -> str:
    require_person(conn, person_id)
    if not ttl_s > 0:
        raise StoreError("an enrollment code must live for a positive time")
    now = time.time_ns()
    conn.execute("DELETE FROM enrollment_codes WHERE expires_ns <= ?", (now,))
    code = new_code()
    conn.execute(
        "INSERT INTO enrollment_codes (hash, person_id, created_ns, expires_ns)"
        " VALUES (?, ?, ?, ?)",
        (code_hash(code), person_id, now, now + int(ttl_s * 1e9)),
    )
    return code


def redeem_code(conn: Conn, code: str, device_name: str) -> Enrollment:
    name = check_name(device_name, "a device name")
    row = conn.execute(
        "DELETE FROM enrollment_codes WHERE hash = ? RETURNING person_id, expires_ns",
        (code_hash(code),),
    ).fetchone()
    if row is None:
        raise CredentialError("unknown or already used enrollment code")
    person_id, expires_ns = row
    if expires_ns <= time.time_ns():
        raise CredentialError("the enrollment code has expired")
    require_person(conn, person_id)
    device = Device(id=new_id("d"), person_id=person_id, name=name, created_ns=time.time_ns())
    conn.execute(
        "INSERT INTO devices (id, person_id, name, created_ns) VALUES (?, ?, ?, ?)",
        (device.id, device.person_id, device.name, device.created_ns),
    )
    token = new_token(DEVICE_TOKEN_PREFIX)
    _insert_credential(conn, token, "device", person_id, device.id)
    return Enrollment(device_id=device.id, person_id=person_id, token=token)


def create_api_token(conn: Conn, person_id: str) -> str:
    require_person(conn, person_id)
    token = new_token(API_TOKEN_PREFIX)
    _insert_credential(conn, token, "api", person_id, None)
    return token


def _insert_credential(
    conn: Conn, token: str, kind: str, person_id: str, device_id: str | None
) -> None:
    conn.execute(
        "INSERT INTO credentials (hash, kind, person_id, device_id, created_ns)"
        " VALUES (?, ?, ?, ?, ?)",
        (token_hash(token), kind, person_id, device_id, time.time_ns()),
    )


def authenticate(conn: Conn, token: str) -> Principal | None:
    if not isinstance(token, str) or not 8 <= len(token) <= 256:
        return None
    digest = token_hash(token)
    row = conn.execute(
        "SELECT c.hash, c.kind, c.person_id, c.device_id, p.role, p.erased_ns, d.revoked_ns"
        " FROM credentials c JOIN people p ON p.id = c.person_id"
        " LEFT JOIN devices d ON d.id = c.device_id WHERE c.hash = ?",
        (digest,),
    ).fetchone()
    if row is None or not hmac.compare_digest(bytes(row[0]), digest):
        return None
    _, kind, person_id, device_id, role, erased_ns, revoked_ns = row
    if erased_ns is not None or (kind == "device" and (device_id is None or revoked_ns)):
        return None
    return Principal(person_id=person_id, role=check_role(role), device_id=device_id)


def revoke_api_tokens(conn: Conn, person_id: str) -> int:
    """Delete every personal API token of the person (device credentials are kept): the next
    request with one of them finds no hash and is refused. Returns how many there were."""
    require_person(conn, person_id, live=False)
    cursor = conn.execute(
        "DELETE FROM credentials WHERE person_id = ? AND kind = 'api'", (person_id,)
    )
    return int(cursor.rowcount)


def revoke_device(conn: Conn, device_id: str) -> Device:
    row = conn.execute("SELECT id FROM devices WHERE id = ?", (device_id,)).fetchone()
    if row is None:
        raise NotFoundError(f"no device {device_id}")
    conn.execute(
        "UPDATE devices SET revoked_ns = coalesce(revoked_ns, ?) WHERE id = ?",
        (time.time_ns(), device_id),
    )
    conn.execute("DELETE FROM credentials WHERE device_id = ?", (device_id,))
    return list_devices(conn, device_id=device_id)[0]


def list_devices(
    conn: Conn, person_id: str | None = None, *, device_id: str | None = None
) -> list[Device]:
    query = "SELECT id, person_id, name, created_ns, revoked_ns FROM devices"
    args: tuple[str, ...] = ()
    if device_id is not None:
        query += " WHERE id = ?"
        args = (device_id,)
    elif person_id is not None:
        query += " WHERE person_id = ?"
        args = (person_id,)
    rows = conn.execute(query + " ORDER BY created_ns, id", args).fetchall()
    return [
        Device(id=r[0], person_id=r[1], name=r[2], created_ns=r[3], revoked_ns=r[4]) for r in rows
    ]
