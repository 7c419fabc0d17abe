"""Shared helpers for the embedded store tests: a real store on disk, enrolled people, and
recognisable events (typed text, window titles, URLs) that byte scans can look for."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import pyarrow as pa

from tests.backend_support import open_backend_store
from workprint.crypto.envelope import FileMasterKey
from workprint.events import (
    SCOPES,
    Event,
    KeyDown,
    KeyUp,
    MouseMove,
    SessionStart,
    WindowFocus,
)
from workprint.events.columnar import events_to_table, table_to_events
from workprint.store.embedded import EmbeddedStore
from workprint.store.embedded.sqlite_database import SqliteDatabase
from workprint.store.interface import ConsentRecord, Principal

DAY_NS: Final = 86_400 * 10**9
T0: Final = 1_790_000_000 * 10**9  # 2026-09-21
SESSION: Final = "5f0c2a9e1b7d4e3f8a6b2c9d1e3f5a7b"


def master_path(tmp_path: Path) -> Path:
    return tmp_path / "keys" / "master.key"


def open_store(tmp_path: Path) -> EmbeddedStore:
    """The store of this test, on the session's backend (``backend_support``)."""
    return open_backend_store(tmp_path / "data", FileMasterKey(master_path(tmp_path)))


@dataclass
class Subject:
    person_id: str
    principal: Principal
    token: str


def enrol(
    store: EmbeddedStore,
    name: str = "Ada Lovelace",
    *,
    scopes: tuple[str, ...] = SCOPES,
    since: int = 0,
    device: str = "laptop",
) -> Subject:
    """A subject with one enrolled device who granted ``scopes`` at ``since``."""
    person = store.add_person(name, "subject")
    enrollment = store.redeem_enrollment_code(store.create_enrollment_code(person.id), device)
    principal = store.authenticate(enrollment.token)
    assert principal is not None
    if scopes:
        store.record_consent(
            person.id, ConsentRecord(t=since, action="grant", scopes=scopes, policy_version=1)
        )
    return Subject(person.id, principal, enrollment.token)


def typing(
    text: str, *, t: int, seq: int, title: str, app: str = "gedit", interval_ns: int = 80_000_000
) -> list[Event]:
    """A focus change to ``title`` then ``text`` typed as key down/up pairs, ``interval_ns``
    (80 ms) apart."""
    events: list[Event] = [
        WindowFocus(t=t, session=SESSION, seq=seq, app=app, title=title, pid=4242, window=7)
    ]
    for i, ch in enumerate(text):
        at = t + (i + 1) * interval_ns
        cls = "space" if ch == " " else "letter" if ch.isalpha() else "punctuation"
        key = "space" if ch == " " else ch
        n = seq + 1 + 2 * i
        events.append(KeyDown(t=at, session=SESSION, seq=n, cls=cls, key=key, char=ch, keycode=38))
        events.append(
            KeyUp(t=at + 30_000_000, session=SESSION, seq=n + 1, cls=cls, key=key, char=ch)
        )
    return events


def moves(n: int, *, t: int, seq: int) -> list[Event]:
    return [
        MouseMove(t=t + i * 16_000_000, session=SESSION, seq=seq + i, x=10 + i, y=20 + 2 * i)
        for i in range(n)
    ]


def start(t: int, seq: int, device: str = "d_test") -> Event:
    return SessionStart(t=t, session=SESSION, seq=seq, device=device, host="lab-host")


def table(events: list[Event]) -> pa.Table:
    return events_to_table(events)


def read_all(store: EmbeddedStore, person_id: str, **window: int | None) -> list[Event]:
    return [
        event
        for part in store.read_events(person_id, actor="test", **window)
        for event in table_to_events(part)
    ]


def ordered(events: list[Event]) -> list[Event]:
    return sorted(events, key=lambda e: (e.t, e.seq))


def all_bytes(root: Path) -> bytes:
    """Every byte of every file under ``root`` (database, WAL, shm, event files)."""
    return b"\n".join(p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file())


def key_event(
    t: int, seq: int, *, cls: str = "letter", key: str | None = None, char: str | None = None
) -> KeyDown:
    return KeyDown(t=t, session=SESSION, seq=seq, cls=cls, key=key, char=char)  # type: ignore[arg-type]


def metadata(store: EmbeddedStore) -> sqlite3.Connection:
    """The embedded store's SQLite writer connection, for tests that inspect the metadata."""
    return sqlite_database(store)._db()


def sqlite_database(store: EmbeddedStore) -> SqliteDatabase:
    database = store.database
    assert isinstance(database, SqliteDatabase)
    return database
