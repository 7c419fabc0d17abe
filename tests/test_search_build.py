"""`workprint build search`: a real embedded store holding browser events (interleaved with OS
input) → the search-session dataset, through the real entry point; checked record by record."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Final

import pyarrow as pa
import pytest

from tests.store_support import SESSION, T0, enrol, master_path, moves, open_store, start, table
from workprint.builders.search.columns import SEARCH_SCHEMA, SearchInputError, build_search
from workprint.events import Event, SessionStop, WebAct, WebDwell, WebNav, WebSearch
from workprint.events.columnar import events_to_table

MS: Final = 1_000_000
BASE: Final = "http://127.0.0.1:8000"
OTHER_SESSION: Final = "a1b2c3d4e5f60718293a4b5c6d7e8f90"


def web_session(session: str = SESSION, *, t: int = T0, seq: int = 0) -> list[Event]:
    """A query, a reformulation, a result opened at rank 2 (landing page, 4 s + 1 s of dwell),
    back to the results, a second result at rank 1 on another domain, and a second tab's own
    search session on another engine. Mouse moves are interleaved, as in a real timeline."""
    s = session
    events: list[Event] = [
        start(t, seq),
        WebNav(t=t + 10 * MS, session=s, seq=seq + 1, tab=3, url=f"{BASE}/search.html"),
        WebSearch(
            t=t + 20 * MS, session=s, seq=seq + 2, tab=3, url=f"{BASE}/search.html",
            engine="intranet", op="query", query="travel expenses",
        ),
        *moves(5, t=t + 30 * MS, seq=seq + 3),
        WebSearch(
            t=t + 200 * MS, session=s, seq=seq + 8, tab=3, url=f"{BASE}/search.html",
            engine="intranet", op="query", query="travel expenses policy",
        ),
        WebSearch(
            t=t + 300 * MS, session=s, seq=seq + 9, tab=3, url=f"{BASE}/search.html",
            engine="intranet", op="open", query="travel expenses policy", rank=2,
            domain="127.0.0.1",
        ),
        WebNav(
            t=t + 400 * MS, session=s, seq=seq + 10, tab=3, url=f"{BASE}/article.html",
            transition="link",
        ),
        WebDwell(
            t=t + 5_000 * MS, session=s, seq=seq + 11, tab=3, url=f"{BASE}/article.html",
            visible_ms=4_000, focused_ms=3_500,
        ),
        WebNav(t=t + 6_000 * MS, session=s, seq=seq + 12, tab=3, url=f"{BASE}/search.html"),
        WebDwell(
            t=t + 6_001 * MS, session=s, seq=seq + 13, tab=3, url=f"{BASE}/article.html",
            visible_ms=1_000, focused_ms=900,
        ),
        WebSearch(
            t=t + 7_000 * MS, session=s, seq=seq + 14, tab=3, url=f"{BASE}/search.html",
            engine="intranet", op="open", query="travel expenses policy", rank=1,
            domain="wiki.example.org",
        ),
        WebNav(t=t + 7_100 * MS, session=s, seq=seq + 15, tab=3, url="https://wiki.example.org/a"),
        WebSearch(
            t=t + 8_000 * MS, session=s, seq=seq + 16, tab=4,
            url="https://duckduckgo.com/", engine="duckduckgo", op="query", query="per diem",
        ),
        WebAct(t=t + 8_100 * MS, session=s, seq=seq + 17, tab=4, url="https://duckduckgo.com/",
               act="scroll", dy=300),
        SessionStop(t=t + 9_000 * MS, session=s, seq=seq + 18),
    ]  # fmt: skip
    return events


def intranet_record(session: str) -> dict[str, object]:
    return {
        "session": session,
        "tab": 3,
        "engine": "intranet",
        "t_start": T0 + 20 * MS,
        "t_end": T0 + 7_000 * MS,
        "query": "travel expenses",
        "reformulations": ["travel expenses policy"],
        "opened": [
            {
                "rank": 2,
                "domain": "127.0.0.1",
                "query": "travel expenses policy",
                "t": T0 + 300 * MS,
                "url": f"{BASE}/article.html",
                "visible_ms": 5_000,
                "focused_ms": 4_400,
            },
            {
                "rank": 1,
                "domain": "wiki.example.org",
                "query": "travel expenses policy",
                "t": T0 + 7_000 * MS,
                "url": "https://wiki.example.org/a",
                "visible_ms": 0,
                "focused_ms": 0,
            },
        ],
    }


def ddg_record(session: str) -> dict[str, object]:
    return {
        "session": session,
        "tab": 4,
        "engine": "duckduckgo",
        "t_start": T0 + 8_000 * MS,
        "t_end": T0 + 8_000 * MS,
        "query": "per diem",
        "reformulations": [],
        "opened": [],
    }


def run_cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "workprint", *args],
        env={"HOME": str(tmp_path / "home"), "PATH": "/usr/bin:/bin", "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=60,
    )


def store_args(tmp_path: Path) -> tuple[str, ...]:
    return ("--store", str(tmp_path / "data"), "--master-key", str(master_path(tmp_path)))


def test_build_search_from_a_store_gives_each_search_session_exactly(tmp_path: Path) -> None:
    with open_store(tmp_path) as store:
        subject = enrol(store)
        store.ingest(subject.principal, "b1", table(web_session()))
    out = tmp_path / "search"
    built = run_cli(
        tmp_path, "build", "search", "--out", str(out), "--format", "jsonl", "--no-progress",
        *store_args(tmp_path),
    )  # fmt: skip
    assert built.returncode == 0, built.stderr
    assert built.stdout.startswith("built 2 search rows from 1 people, 1 sessions"), built.stdout
    rows = [json.loads(line) for line in (out / "train.jsonl").read_text().splitlines()]
    assert len(rows) == 2
    person, session = rows[0].pop("person"), rows[0]["session"]
    assert person.startswith("anon-") and session.startswith("session-")
    assert session != SESSION  # pseudonymised
    assert rows[0] == intranet_record(session)
    assert rows[1].pop("person") == person
    assert rows[1] == ddg_record(session)
    card = (out / "README.md").read_text()
    assert "search sessions" in card and "workprint.search" in card


def test_build_search_parquet_keeps_the_nested_schema(tmp_path: Path) -> None:
    with open_store(tmp_path) as store:
        subject = enrol(store)
        store.ingest(subject.principal, "b1", table(web_session()))
    out = tmp_path / "search"
    built = run_cli(
        tmp_path, "build", "search", "--out", str(out), "--format", "parquet", "--no-progress",
        *store_args(tmp_path),
    )  # fmt: skip
    assert built.returncode == 0, built.stderr
    import pyarrow.parquet as pq

    got = pq.read_table(out / "train.parquet")
    assert got.schema.names == ["person", *SEARCH_SCHEMA.names]
    assert got.schema.field("opened").type == SEARCH_SCHEMA.field("opened").type
    assert got.column("opened").to_pylist()[0][0]["visible_ms"] == 5_000


def test_build_search_rejects_settings_with_one_line(tmp_path: Path) -> None:
    with open_store(tmp_path) as store:
        enrol(store)
    result = run_cli(
        tmp_path, "build", "search", "--out", str(tmp_path / "o"), "--set", "gap_s=3",
        *store_args(tmp_path),
    )  # fmt: skip
    assert result.returncode == 2, result
    lines = result.stderr.strip().splitlines()
    assert lines == ["workprint: error: unknown setting(s) for search: gap_s (known: none)"]


def test_step_sorts_rows_and_ignores_other_events() -> None:
    events = web_session()
    shuffled = events_to_table(list(reversed(events)))
    got = build_search(shuffled).to_pylist()
    assert got == [intranet_record(SESSION), ddg_record(SESSION)]
    no_web = events_to_table([start(T0, 0), *moves(3, t=T0 + MS, seq=1)])
    assert build_search(no_web).num_rows == 0
    assert build_search(no_web).schema == SEARCH_SCHEMA


def test_step_on_two_sessions_keeps_them_apart() -> None:
    both = events_to_table([*web_session(), *web_session(OTHER_SESSION, t=T0 + 10**12, seq=100)])
    sessions = build_search(both).column("session").to_pylist()
    assert sessions == [SESSION, SESSION, OTHER_SESSION, OTHER_SESSION]


def test_step_rejects_a_table_that_is_not_events() -> None:
    with pytest.raises(SearchInputError, match=r"no column\(s\) type, seq"):
        build_search(pa.table({"t": [1], "session": ["s"]}))


def test_step_rejects_a_malformed_browser_row_with_its_reason() -> None:
    good = events_to_table(web_session())
    index = good.column("type").to_pylist().index("web_search")
    engines = good.column("engine").to_pylist()
    engines[index] = None  # a web_search without its required engine
    bad = good.set_column(
        good.schema.get_field_index("engine"), good.schema.field("engine"), pa.array(engines)
    )
    with pytest.raises(SearchInputError, match=r"a browser event is malformed: .*engine"):
        build_search(bad)
