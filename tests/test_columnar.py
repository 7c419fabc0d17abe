"""The Arrow form of events converts both ways exactly, for every event type."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.strategies import events as any_event
from workprint.events import Event
from workprint.events.columnar import EVENT_SCHEMA, events_to_table, iter_tables, table_to_events


@settings(max_examples=200, deadline=None)
@given(st.lists(any_event(), max_size=40))
def test_structs_to_arrow_and_back_is_exact(events: list[Event]) -> None:
    table = events_to_table(events)
    assert table.schema == EVENT_SCHEMA
    assert table.num_rows == len(events)
    assert table_to_events(table) == events


@settings(max_examples=50, deadline=None)
@given(st.lists(any_event(), max_size=30), st.integers(min_value=1, max_value=7))
def test_streamed_tables_cover_every_event_in_order(events: list[Event], rows: int) -> None:
    tables = list(iter_tables(events, rows=rows))
    assert all(t.num_rows <= rows for t in tables)
    assert [e for t in tables for e in table_to_events(t)] == events
