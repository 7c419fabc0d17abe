"""The build pipeline as a library: the store's raw events → whole sessions → a builder step →
pseudonymised Arrow batches. ``workprint build`` writes these batches as a dataset; the release
stage (``workprint.release``) runs the same pipeline under its own per-release pseudonyms.

Every non-erased person's events are read through ``read_events`` (audited, with the actor),
cut into whole sessions, run through the builder by the in-process executor one session at a
time (or by ``RayExecutor`` on a Ray cluster, with the same result). Person and session ids are
replaced by HMAC pseudonyms (``Pseudonyms``: a random salt that lives only as long as the
build, or any object with the same ``person``/``session`` methods).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, Protocol

from workprint.errors import WorkprintError
from workprint.store.interface import NotFoundError, Person, StoreError

if TYPE_CHECKING:
    import pyarrow as pa

    from workprint.builders.executor import Executor
    from workprint.export import DatasetCard
    from workprint.store.embedded import EmbeddedStore

KINDS: Final = ("actions", "episodes", "writing", "search")
NOT_FOR_RELEASE: Final = "none (raw; not for release: see the release gate)"
IDENTIFIERS: Final = (
    "person and session ids replaced by HMAC-SHA256 pseudonyms under a per-build random salt "
    "(discarded after the build)"
)
WRITING_BUILDER: Final = "workprint.writing"
SEARCH_DESCRIPTION: Final = (
    "One record per search session (a query on a search site and its reformulations in the "
    "same tab): the opened results with rank, domain, landing page and visible/focused dwell."
)
# Columns that hold a session id, alone or as the prefix of a derived id ("<session>:e3",
# "<session>/<window>").
_SESSION_COLUMNS: Final = ("session", "episode", "work_session", "doc")
_INPUT_TYPES: Final = ("key_down", "key_up", "mouse_move", "mouse_down", "mouse_up", "scroll")


class Namer(Protocol):
    """What turns raw person and session ids into the pseudonyms a dataset carries."""

    def person(self, person_id: str) -> str: ...
    def session(self, person_id: str, session: str) -> str: ...


class BuildError(WorkprintError):
    """The build cannot run as asked."""


class Pseudonyms:
    """Stable within one build, unlinkable across builds: the salt is never written."""

    def __init__(self) -> None:
        self._salt = secrets.token_bytes(32)

    def _digest(self, *parts: str) -> str:
        message = "\0".join(parts).encode()
        return hmac.new(self._salt, message, hashlib.sha256).hexdigest()[:16]

    def person(self, person_id: str) -> str:
        return f"anon-{self._digest('person', person_id)}"

    def session(self, person_id: str, session: str) -> str:
        return f"session-{self._digest('session', person_id, session)}"


def pseudonymise(batch: pa.Table, raw_session: str, session: str, person: str) -> pa.Table:
    """One session's builder output with its session id (and ids derived from it) replaced,
    and a ``person`` column in front."""
    import pyarrow as pa
    import pyarrow.compute as pc

    for name in _SESSION_COLUMNS:
        if name not in batch.column_names:
            continue
        column = batch.column(name)
        if batch.num_rows and not pc.all(pc.starts_with(column, raw_session)).as_py():
            raise BuildError(f"a {name} value does not belong to its session (a builder bug)")
        rest = pc.utf8_slice_codeunits(column, len(raw_session))
        renamed = pc.binary_join_element_wise(pa.scalar(session), rest, "")
        index = batch.schema.get_field_index(name)
        batch = batch.set_column(index, batch.schema.field(name), renamed)
    people = pa.array([person] * batch.num_rows, pa.string())
    return batch.add_column(0, pa.field("person", pa.string(), nullable=False), people)


def iter_sessions(tables: Iterable[pa.Table]) -> Iterator[pa.Table]:
    """Whole sessions out of one person's (t, seq)-ordered tables. A session is handed on at its
    ``session_stop`` (its last event), so memory holds only the sessions still open; sessions
    without a stop (a crash) are handed on when the stream ends."""
    import pyarrow as pa
    import pyarrow.compute as pc

    parts: dict[str, list[pa.Table]] = {}
    for table in tables:
        sessions = pc.cast(table.column("session"), pa.string())
        types = pc.cast(table.column("type"), pa.string())
        for session in pc.unique(sessions).to_pylist():
            mine = pc.equal(sessions, session)
            parts.setdefault(session, []).append(table.filter(mine))
            stops = pc.and_(mine, pc.equal(types, "session_stop"))
            if pc.any(stops).as_py():
                yield pa.concat_tables(parts.pop(session)).combine_chunks()
    for pieces in parts.values():
        yield pa.concat_tables(pieces).combine_chunks()


def settings(kind: str, pairs: list[str]) -> tuple[Callable[[pa.Table], pa.Table], dict[str, Any]]:
    """The builder step for ``kind`` with ``--set NAME=VALUE`` applied, and every setting it ran
    with (for the card)."""
    import msgspec

    from workprint.builders.actions import (
        EpisodeConfig,
        Thresholds,
        label_actions,
        reduce_actions,
        split_episodes,
    )
    from workprint.builders.search.columns import build_search
    from workprint.builders.writing import WritingConfig, writing_step

    given: dict[str, Any] = {}
    for pair in pairs:
        name, eq, text = pair.partition("=")
        if not eq or not name.strip():
            raise BuildError(f"--set takes NAME=VALUE, got {pair!r}")
        try:
            given[name.strip()] = msgspec.json.decode(text.strip())
        except msgspec.DecodeError:
            given[name.strip()] = text.strip()
    kinds: dict[str, tuple[type[msgspec.Struct], ...]] = {
        "actions": (Thresholds, EpisodeConfig),
        "episodes": (EpisodeConfig,),
        "writing": (WritingConfig,),
        "search": (),
    }
    structs = kinds[kind]
    known = {f: s for s in structs for f in s.__struct_fields__}
    unknown = sorted(set(given) - set(known))
    if unknown:
        raise BuildError(
            f"unknown setting(s) for {kind}: {', '.join(unknown)} "
            f"(known: {', '.join(known) or 'none'})"
        )
    try:
        configs = [
            msgspec.convert({k: v for k, v in given.items() if known[k] is s}, s) for s in structs
        ]
    except msgspec.ValidationError as exc:
        raise BuildError(f"bad setting: {exc}") from None
    used = {k: v for c in configs for k, v in msgspec.structs.asdict(c).items()}
    if kind == "actions":
        th, ep = configs
        assert isinstance(th, Thresholds) and isinstance(ep, EpisodeConfig)
        return (lambda t: label_actions(reduce_actions(t, th), split_episodes(t, ep))), used
    if kind == "search":
        return build_search, used
    if kind == "episodes":
        (ep,) = configs
        assert isinstance(ep, EpisodeConfig)
        return (lambda t: split_episodes(t, ep)), used
    (wc,) = configs
    assert isinstance(wc, WritingConfig)
    return writing_step(wc), used


@dataclass
class Coverage:
    """What went into the dataset, for its card."""

    people: set[str] = field(default_factory=set)
    sessions: int = 0
    ns: int = 0
    scopes: set[str] = field(default_factory=set)


def input_span(table: pa.Table) -> int:
    """Nanoseconds from a session's first to its last input event. Markers do not count: an
    imported log may start its session at the logger's clock origin, days before any key."""
    import pyarrow as pa
    import pyarrow.compute as pc

    types = pc.cast(table.column("type"), pa.string())
    times = table.column("t").filter(pc.is_in(types, pa.array(_INPUT_TYPES)))
    if len(times) == 0:
        return 0
    span = pc.min_max(times).as_py()
    return int(span["max"] - span["min"])


def session_stream(
    store: EmbeddedStore,
    people: list[Person],
    actor: str,
    names: Namer,
    coverage: Coverage,
) -> Iterator[tuple[pa.Table, str, str, str]]:
    """(events, raw session, its pseudonym, person pseudonym) for each session of each person."""
    import pyarrow.compute as pc

    for person in people:
        for table in iter_sessions(store.read_events(person.id, actor=actor)):
            raw = str(pc.cast(table.column("session"), "string")[0].as_py())
            if person.id not in coverage.people:  # the scopes of people whose data is in it
                coverage.people.add(person.id)
                for consent in store.consent_history(person.id):
                    if consent.action == "grant":
                        coverage.scopes.update(consent.scopes)
            coverage.sessions += 1
            coverage.ns += input_span(table)
            yield table, raw, names.session(person.id, raw), names.person(person.id)


def build_batches(
    sessions: Iterator[tuple[pa.Table, str, str, str]],
    step: Callable[[pa.Table], pa.Table],
    executor: Executor | None = None,
) -> Iterator[pa.Table]:
    """The builder over each session (one executor batch: a batch must hold whole sessions),
    its output pseudonymised here, on the driver: the per-build salt never reaches a worker.
    ``executor`` defaults to the in-process one; ``RayExecutor`` runs the same step on Ray."""
    from collections import deque

    from workprint.builders.executor import InProcessExecutor

    names: deque[tuple[str, str, str]] = deque()  # sessions handed on, awaiting their output

    def tables() -> Iterator[pa.Table]:
        for table, raw, session, person in sessions:
            names.append((raw, session, person))
            yield table

    for built in (executor or InProcessExecutor()).map_batches(step, tables()):
        yield pseudonymise(built, *names.popleft())


def make_card(kind: str, used: dict[str, Any]) -> DatasetCard:
    from workprint import __version__
    from workprint.builders.actions import BUILDER_NAME, BUILDER_VERSION
    from workprint.builders.search import BUILDER_NAME as SEARCH_NAME
    from workprint.builders.search import BUILDER_VERSION as SEARCH_VERSION
    from workprint.export import DatasetCard

    what = {
        "actions": (
            "computer-use actions",
            "Clicks, drags, scrolls, typed text, keys and hotkeys reduced from raw input "
            "events, each with its raw time range, approach path, window context and episode.",
        ),
        "episodes": (
            "task episodes",
            "Task episodes and work sessions cut from raw input events at boundaries and idle "
            "gaps, one row per episode.",
        ),
        "writing": (
            "writing process",
            "One record per document (a session's window): every text edit, bursts, pauses, "
            "revisions and the final text, replayed from keystrokes.",
        ),
        "search": ("search sessions", SEARCH_DESCRIPTION),
    }[kind]
    # The writing builder has no version of its own yet: the package's stands in for it.
    builder = {
        "writing": (WRITING_BUILDER, __version__),
        "search": (SEARCH_NAME, SEARCH_VERSION),
    }.get(kind, (BUILDER_NAME, BUILDER_VERSION))
    return DatasetCard(
        name=f"workprint {kind}",
        description=what[1] + " Person and session ids are per-build pseudonyms.",
        kind=what[0],
        source="a workprint raw store (recordings and imports)",
        consent="each person's consent record in the store, enforced again at ingest",
        builder=builder[0],
        builder_version=builder[1],
        thresholds=used,
        privacy_transforms=(NOT_FOR_RELEASE,),
        extra={"identifiers": IDENTIFIERS},
    )


def chosen_people(store: EmbeddedStore, wanted: list[str] | None) -> list[Person]:
    """Everyone not erased, or the people named (each must exist and not be erased)."""
    if not wanted:
        return [p for p in store.list_people() if p.erased_ns is None]
    out: list[Person] = []
    for person_id in dict.fromkeys(wanted):
        person = store.get_person(person_id)
        if person is None:
            raise NotFoundError(f"unknown person {person_id}")
        if person.erased_ns is not None:
            raise StoreError(f"person {person_id} was erased: nothing of theirs can be built")
        out.append(person)
    return out
