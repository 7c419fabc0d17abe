"""The search-session builder's columnar face: one session's Arrow events → an Arrow table of
search sessions (``SEARCH_SCHEMA``), the step ``workprint build search`` runs.

Only the browser rows that search sessions are made of (``web_search``, ``web_nav``,
``web_dwell``) are turned into structs: they are a small part of a session's events, while the
bulk (keys, mouse) never leaves Arrow.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import pyarrow as pa
import pyarrow.compute as pc

from workprint.builders.search import SearchSession, search_sessions
from workprint.errors import WorkprintError
from workprint.events.columnar import table_to_events

SEARCH_TYPES: Final = ("web_search", "web_nav", "web_dwell")
OPENED_TYPE: Final = pa.struct(
    [
        pa.field("rank", pa.int32(), nullable=False),
        pa.field("domain", pa.string()),
        pa.field("query", pa.string(), nullable=False),
        pa.field("t", pa.int64(), nullable=False),
        pa.field("url", pa.string()),
        pa.field("visible_ms", pa.int64(), nullable=False),
        pa.field("focused_ms", pa.int64(), nullable=False),
    ]
)
SEARCH_SCHEMA: Final = pa.schema(
    [
        pa.field("session", pa.string(), nullable=False),
        pa.field("tab", pa.int32(), nullable=False),
        pa.field("engine", pa.string(), nullable=False),
        pa.field("t_start", pa.int64(), nullable=False),
        pa.field("t_end", pa.int64(), nullable=False),
        pa.field("query", pa.string(), nullable=False),
        pa.field("reformulations", pa.list_(pa.string()), nullable=False),
        pa.field("opened", pa.list_(OPENED_TYPE), nullable=False),
    ]
)
# What the step needs of its input; the other event columns may be absent.
_NEEDED: Final = ("type", "t", "session", "seq")


class SearchInputError(WorkprintError):
    """The events given to the search builder are not a table of raw events."""


def sessions_to_table(sessions: Sequence[SearchSession]) -> pa.Table:
    """Search-session structs → an Arrow table in ``SEARCH_SCHEMA``."""
    rows = [
        {
            "session": s.session,
            "tab": s.tab,
            "engine": s.engine,
            "t_start": s.t_start,
            "t_end": s.t_end,
            "query": s.query,
            "reformulations": list(s.reformulations),
            "opened": [
                {
                    "rank": o.rank,
                    "domain": o.domain,
                    "query": o.query,
                    "t": o.t,
                    "url": o.url,
                    "visible_ms": o.visible_ms,
                    "focused_ms": o.focused_ms,
                }
                for o in s.opened
            ],
        }
        for s in sessions
    ]
    return pa.Table.from_pylist(rows, schema=SEARCH_SCHEMA)


def build_search(events: pa.Table) -> pa.Table:
    """One recording session's events (``EVENT_SCHEMA`` columns, any order) → its search
    sessions. Rows are taken in (t, seq) order, as the library function expects."""
    missing = [name for name in _NEEDED if name not in events.column_names]
    if missing:
        raise SearchInputError(f"not a raw events table: no column(s) {', '.join(missing)}")
    types = pc.cast(events.column("type"), pa.string())
    wanted = events.filter(pc.is_in(types, pa.array(SEARCH_TYPES)))
    if wanted.num_rows == 0:
        return SEARCH_SCHEMA.empty_table()
    wanted = wanted.sort_by([("t", "ascending"), ("seq", "ascending")])
    try:
        structs = table_to_events(wanted)
    except (ValueError, TypeError) as exc:  # msgspec.ValidationError is a ValueError
        raise SearchInputError(f"a browser event is malformed: {exc}") from None
    return sessions_to_table(search_sessions(structs))
