"""Sign-in: password accounts (argon2id), login lockout, and sessions.

How a person proved who they are (here: a password) is separate from the session that follows:
``PasswordLogin.check`` only answers "which person is this, if anyone", and ``Sessions`` only
needs a person id. An OIDC provider replaces ``PasswordLogin`` by another function returning a
person id for a verified ``sub`` claim; nothing else changes (docs/portal.md).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Final

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from workprint.portal.db import PortalDB
from workprint.store.interface import StoreError

MAX_FAILURES: Final = 5  # wrong passwords for one login within FAILURE_WINDOW_S → locked
FAILURE_WINDOW_S: Final = 15 * 60
LOCKOUT_S: Final = 15 * 60
SESSION_TTL_S: Final = 8 * 3600
MIN_PASSWORD_CHARS: Final = 10
MAX_PASSWORD_CHARS: Final = 1024
MAX_LOGIN_CHARS: Final = 64
_NS: Final = 1_000_000_000

# argon2id, RFC 9106's second recommended option (64 MiB, 3 passes): memory-hard.
HASHER: Final = PasswordHasher(time_cost=3, memory_cost=64 * 1024, parallelism=1)
_DUMMY_HASH: Final = HASHER.hash("no such account: verify anyway so timing says nothing")


class AccountError(StoreError):
    """A request about accounts that cannot be carried out; the message is one line."""


@dataclass(frozen=True)
class Account:
    person_id: str
    login: str
    team: str


@dataclass(frozen=True)
class LoginOutcome:
    person_id: str | None
    locked: bool = False  # the login is locked: too many wrong passwords recently


@dataclass(frozen=True)
class Session:
    person_id: str
    csrf: str
    expires_ns: int


def check_login_name(login: str) -> str:
    login = login.strip().lower()
    if (
        not login
        or len(login) > MAX_LOGIN_CHARS
        or not all(c.isalnum() or c in "._-@" for c in login)
    ):
        raise AccountError(
            f"a login is 1–{MAX_LOGIN_CHARS} letters, digits or . _ - @ (got {login[:80]!r})"
        )
    return login


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_CHARS:
        raise AccountError(f"a password has at least {MIN_PASSWORD_CHARS} characters")
    if len(password) > MAX_PASSWORD_CHARS:
        raise AccountError(f"a password has at most {MAX_PASSWORD_CHARS} characters")


class PasswordLogin:
    """Accounts with argon2id password hashes and a per-login lockout."""

    def __init__(self, db: PortalDB) -> None:
        self.db = db

    def set_password(self, person_id: str, login: str, password: str, team: str = "") -> Account:
        login = check_login_name(login)
        check_password(password)
        hashed = HASHER.hash(password)
        with self.db.write() as conn:
            other = conn.execute(
                "SELECT person_id FROM accounts WHERE login = ?", (login,)
            ).fetchone()
            if other is not None and other[0] != person_id:
                raise AccountError(f"the login {login!r} belongs to someone else")
            conn.execute(
                "INSERT INTO accounts (person_id, login, password_hash, team, created_ns)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (person_id) DO UPDATE SET"
                " login = excluded.login, password_hash = excluded.password_hash,"
                " team = CASE WHEN excluded.team = '' THEN accounts.team ELSE excluded.team END",
                (person_id, login, hashed, team.strip()[:64], time.time_ns()),
            )
            conn.execute("DELETE FROM login_failures WHERE login = ?", (login,))
        account = self.account(person_id)
        assert account is not None
        return account

    def set_team(self, person_id: str, team: str) -> None:
        with self.db.write() as conn:
            conn.execute(
                "UPDATE accounts SET team = ? WHERE person_id = ?", (team.strip()[:64], person_id)
            )

    def account(self, person_id: str) -> Account | None:
        with self.db.read() as conn:
            row = conn.execute(
                "SELECT person_id, login, team FROM accounts WHERE person_id = ?", (person_id,)
            ).fetchone()
        return None if row is None else Account(*row)

    def accounts(self) -> list[Account]:
        with self.db.read() as conn:
            rows = conn.execute("SELECT person_id, login, team FROM accounts ORDER BY login")
            return [Account(*row) for row in rows]

    def check(self, login: str, password: str, *, now_ns: int | None = None) -> LoginOutcome:
        """The person this login and password name; None for any mismatch (unknown login or
        wrong password look the same). A locked login is refused even with the right password."""
        now = time.time_ns() if now_ns is None else now_ns
        login = login.strip().lower()[:MAX_LOGIN_CHARS]
        with self.db.read() as conn:
            locked = conn.execute(
                "SELECT locked_until_ns FROM login_failures WHERE login = ?", (login,)
            ).fetchone()
            row = conn.execute(
                "SELECT person_id, password_hash FROM accounts WHERE login = ?", (login,)
            ).fetchone()
        if locked is not None and locked[0] > now:
            return LoginOutcome(None, locked=True)
        stored = row[1] if row else _DUMMY_HASH
        try:
            ok = HASHER.verify(stored, password[:MAX_PASSWORD_CHARS]) and row is not None
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            ok = False
        if not ok:
            return LoginOutcome(None, locked=self._fail(login, now))
        with self.db.write() as conn:
            conn.execute("DELETE FROM login_failures WHERE login = ?", (login,))
        return LoginOutcome(row[0])

    def _fail(self, login: str, now: int) -> bool:
        with self.db.write() as conn:
            row = conn.execute(
                "SELECT failures, first_ns FROM login_failures WHERE login = ?", (login,)
            ).fetchone()
            failures, first = (1, now) if row is None else (row[0] + 1, row[1])
            if now - first > FAILURE_WINDOW_S * _NS:
                failures, first = 1, now
            locked_until = now + LOCKOUT_S * _NS if failures >= MAX_FAILURES else 0
            conn.execute(
                "INSERT INTO login_failures (login, failures, first_ns, locked_until_ns)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (login) DO UPDATE SET"
                " failures = excluded.failures, first_ns = excluded.first_ns,"
                " locked_until_ns = excluded.locked_until_ns",
                (login, failures, first, locked_until),
            )
        return locked_until > 0


def _digest(value: str) -> bytes:
    return hashlib.sha256(value.encode()).digest()


class Sessions:
    """Server-side sessions: the cookie carries a random value, the database its hash and the
    session's CSRF token. A session is only ever created at sign-in, with a fresh value, so a
    value planted before sign-in (session fixation) never becomes valid."""

    def __init__(self, db: PortalDB, ttl_s: float = SESSION_TTL_S) -> None:
        self.db = db
        self.ttl_ns = int(ttl_s * _NS)

    def create(self, person_id: str) -> tuple[str, Session]:
        value = secrets.token_urlsafe(32)
        now = time.time_ns()
        session = Session(person_id, secrets.token_urlsafe(32), now + self.ttl_ns)
        with self.db.write() as conn:
            conn.execute("DELETE FROM sessions WHERE expires_ns < ?", (now,))
            conn.execute(
                "INSERT INTO sessions (hash, person_id, csrf, created_ns, expires_ns)"
                " VALUES (?, ?, ?, ?, ?)",
                (_digest(value), person_id, session.csrf, now, session.expires_ns),
            )
        return value, session

    def get(self, value: str | None) -> Session | None:
        if not value or len(value) > 128:
            return None
        with self.db.read() as conn:
            row = conn.execute(
                "SELECT person_id, csrf, expires_ns FROM sessions WHERE hash = ?", (_digest(value),)
            ).fetchone()
        if row is None or row[2] < time.time_ns():
            return None
        return Session(*row)

    def end(self, value: str | None) -> None:
        if value:
            with self.db.write() as conn:
                conn.execute("DELETE FROM sessions WHERE hash = ?", (_digest(value),))

    def end_all(self, person_id: str) -> int:
        """Sign a person out everywhere (an admin revoking their sessions); returns how many."""
        with self.db.write() as conn:
            deleted = conn.execute("DELETE FROM sessions WHERE person_id = ?", (person_id,))
            return int(deleted.rowcount)


def same_secret(a: str, b: str) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(a.encode(), b.encode())
