"""Search sessions builder: browser events → one record per search session (docs/browser.md).

A session starts at a query on a search site and lasts while the person keeps searching in the
same tab on the same engine: each later query is a reformulation. Each opened result keeps its
rank and domain, and its dwell is the visible and focused time reported for the page the tab
showed next (the result's landing page), until that tab navigated again.
"""

from __future__ import annotations

from collections.abc import Iterable

import msgspec

from workprint.events import Event, WebDwell, WebNav, WebSearch

BUILDER_NAME = "workprint.search"
BUILDER_VERSION = "0.1.0"
TabKey = tuple[str, int]


class OpenedResult(msgspec.Struct, kw_only=True):
    rank: int
    domain: str | None
    query: str
    t: int
    url: str | None = None  # the landing page, once the tab committed it
    visible_ms: int = 0
    focused_ms: int = 0


class SearchSession(msgspec.Struct, kw_only=True):
    session: str
    tab: int
    engine: str
    t_start: int
    t_end: int
    query: str
    reformulations: list[str] = msgspec.field(default_factory=list)
    opened: list[OpenedResult] = msgspec.field(default_factory=list)


def search_sessions(events: Iterable[Event]) -> list[SearchSession]:
    """The search sessions in a time-ordered stream of events (other events are ignored)."""
    sessions: list[SearchSession] = []
    # Keyed by (recording session, tab): a tab id means nothing across browser restarts.
    current: dict[TabKey, SearchSession] = {}
    landing: dict[TabKey, OpenedResult] = {}  # per tab: the result whose page it shows
    # A page reports its last dwell when it is left, after the next page's navigation started:
    # a result's page just left still takes that one report.
    leaving: dict[TabKey, OpenedResult] = {}
    for event in events:
        key = (event.session, getattr(event, "tab", -1))
        if isinstance(event, WebSearch):
            _search(event, sessions, current, landing, leaving)
        elif isinstance(event, WebNav):
            opened = landing.get(key)
            if opened is not None and opened.url is None:
                opened.url = event.url
            elif opened is not None and event.url != opened.url:
                leaving[key] = landing.pop(key)  # the tab moved on
        elif isinstance(event, WebDwell):
            opened = landing.get(key)
            if opened is None or opened.url != event.url:
                opened = leaving.pop(key, None)
            if opened is not None and opened.url == event.url:
                opened.visible_ms += event.visible_ms
                opened.focused_ms += event.focused_ms
                session = current.get(key)
                if session is not None:
                    session.t_end = max(session.t_end, event.t)
    return sessions


def _search(
    event: WebSearch,
    sessions: list[SearchSession],
    current: dict[TabKey, SearchSession],
    landing: dict[TabKey, OpenedResult],
    leaving: dict[TabKey, OpenedResult],
) -> None:
    key = (event.session, event.tab)
    session = current.get(key)
    if event.op == "query":
        if session is not None and session.engine == event.engine:
            if event.query != session.query and event.query not in session.reformulations:
                session.reformulations.append(event.query)
            session.t_end = event.t
            return
        session = SearchSession(
            session=event.session,
            tab=event.tab,
            engine=event.engine,
            t_start=event.t,
            t_end=event.t,
            query=event.query,
        )
        sessions.append(session)
        current[key] = session
        return
    if session is None or event.rank is None:
        return
    opened = OpenedResult(rank=event.rank, domain=event.domain, query=event.query, t=event.t)
    session.opened.append(opened)
    session.t_end = event.t
    landing[key] = opened
    leaving.pop(key, None)
