"""A real embedded store with a few subjects whose recordings carry planted personal data and
secrets (typed text, window titles), for the release tests."""

from __future__ import annotations

import random
import uuid
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from tests.store_support import T0, enrol, moves, open_store, start, table, typing
from workprint.events import (
    Event,
    KeyDown,
    KeyUp,
    MouseDown,
    MouseUp,
    SessionStart,
    WindowFocus,
)
from workprint.events.model import KeyClass
from workprint.release.create import ReleaseRequest, create_release
from workprint.release.policy import ReleasePolicy, parse_policy
from workprint.release.registry import ReleaseInfo
from workprint.store.embedded import EmbeddedStore

PLANTED_EMAIL: Final = "zelda.quuxington@example.org"
PLANTED_CARD: Final = "4111 1111 1111 1111"
PLANTED_KEY: Final = "sk_live_51HqLyjWDarjtT1zdp7dcXyz0"
PLANTED_TYPED: Final = (PLANTED_EMAIL, PLANTED_CARD)
NAMES: Final = (
    "Ada Quillfeather",
    "Bo Zanzibarsky",
    "Cy Wobblethorpe",
    "Di Marmalejo",
    "Ed Fizzlebrook",
)
BASE_POLICY: Final = """
[apps]
allowlist = ["firefox"]
categories = { gedit = "editor" }
[kanon]
k = 2
[dp]
epsilon = 0.5
min_group_size = 2
"""


def typing_interval_ns(i: int) -> int:
    """Each person types at their own constant rhythm: 80, 110, 140, … ms between keys."""
    return (80 + 30 * i) * 1_000_000


def session_events(i: int, title: str) -> list[Event]:
    """A session: focus + typing (with planted data for person 0), moves and a click."""
    t = T0 + i * 10**12
    text = f"mail {PLANTED_EMAIL} card {PLANTED_CARD} ok" if i == 0 else f"hello world {i} done"
    events: list[Event] = [start(t, 0)]
    events += typing(text, t=t + 10**9, seq=1, title=title, interval_ns=typing_interval_ns(i))
    n = len(events)
    events += moves(5, t=t + 20 * 10**9, seq=n)
    at, session = t + 21 * 10**9, events[0].session
    events += [
        MouseDown(t=at, session=session, seq=n + 5, x=30, y=40, button=1),
        MouseUp(t=at + 50_000_000, session=session, seq=n + 6, x=30, y=40, button=1),
    ]
    return events


@dataclass
class World:
    tmp: Path
    store: EmbeddedStore
    subjects: list[str]
    steward: str
    researcher: str

    @property
    def root(self) -> Path:
        return self.tmp / "releases"

    def release(
        self, policy: ReleasePolicy, kind: str = "actions", name: str = "demo", **kw: object
    ) -> ReleaseInfo:
        request = ReleaseRequest(
            kind=kind,
            name=name,
            policy=policy,
            root=self.root,
            actor="test",
            **kw,  # type: ignore[arg-type]
        )
        return create_release(self.store, request)


def make_world(tmp: Path, titles: tuple[str, ...] = ("Invoice draft",) * 3) -> World:
    """One subject per title (at most five), each with one recorded session."""
    store = open_store(tmp)
    subjects = []
    for i, (name, title) in enumerate(zip(NAMES, titles, strict=False)):
        subject = enrol(store, name)
        store.ingest(subject.principal, f"b{i}", table(session_events(i, title)))
        subjects.append(subject.person_id)
    steward = store.add_person("Sam Steward", "steward").id
    researcher = store.add_person("Rae Researcher", "researcher").id
    return World(tmp, store, subjects, steward, researcher)


def policy(extra: str = "", *, dp: str = "", kanon: str = "") -> ReleasePolicy:
    """The base policy plus ``extra`` sections, and ``dp``/``kanon`` lines in those sections."""
    text = BASE_POLICY.replace("[dp]\n", f"[dp]\n{dp}\n").replace("k = 2\n", kanon or "k = 2\n")
    return parse_policy(text + extra, "test-policy.toml")


# Sentences every person of the rhythm world types (session j: sentence j), so that the key
# sequence says nothing about who typed it: only the timing can.
SHARED_TEXTS: Final = (
    "the quick brown fox jumps over the lazy dog near the river bank",
    "please send the weekly report to the team before friday noon",
    "we moved the meeting to thursday because the room was booked",
    "our new draft explains the budget and the plan for next year",
)


def key_interval_ns(person: int, key: str, session: int) -> int:
    """Person ``person``'s own rhythm: a base speed plus a per-key offset that differs between
    people (as real digraph latencies do), and a few percent of per-session drift."""
    base = 70 + 12 * person
    offset = zlib.crc32(f"{person}:{key}".encode()) % 140
    drift = 1 + 0.03 * random.Random(person * 100 + session).uniform(-1, 1)
    return round((base + offset) * drift * 1_000_000)


def rhythm_session_events(person: int, session: int, text: str, t: int) -> list[Event]:
    """One recorded session (its own session id and window) of ``text`` typed at ``person``'s
    rhythm, key down/up pairs with a person-specific hold. A device's seq never restarts, so
    each session takes its own block of 1000."""
    sid = uuid.UUID(int=(person + 1) << 32 | (session + 1)).hex
    seq = 1000 * session
    events: list[Event] = [
        SessionStart(t=t, session=sid, seq=seq, device="d_test", host="lab-host"),
        WindowFocus(
            t=t + 10**8, session=sid, seq=seq + 1, app="gedit", title="report", pid=42, window=7
        ),
    ]
    at = t + 10**9
    for i, ch in enumerate(text):
        at += key_interval_ns(person, ch, session)
        cls: KeyClass = "space" if ch == " " else "letter"
        key = "space" if ch == " " else ch
        hold = (40 + 7 * person) * 1_000_000
        n = seq + 2 + 2 * i
        events.append(KeyDown(t=at, session=sid, seq=n, cls=cls, key=key, char=ch))
        events.append(KeyUp(t=at + hold, session=sid, seq=n + 1, cls=cls, key=key, char=ch))
    return events


def make_rhythm_world(tmp: Path, people: int = 10, sessions: int = 4) -> World:
    """``people`` subjects with ``sessions`` writing sessions each, all typing the shared
    sentences, each at their own per-key rhythm."""
    store = open_store(tmp)
    subjects = []
    for p in range(people):
        subject = enrol(store, f"Typist {chr(65 + p)}{p} Quorndale")
        events = [
            event
            for s in range(sessions)
            for event in rhythm_session_events(
                p, s, SHARED_TEXTS[s % len(SHARED_TEXTS)], T0 + (p * sessions + s) * 10**12
            )
        ]
        store.ingest(subject.principal, f"r{p}", table(events))
        subjects.append(subject.person_id)
    steward = store.add_person("Sam Steward", "steward").id
    researcher = store.add_person("Rae Researcher", "researcher").id
    return World(tmp, store, subjects, steward, researcher)
