"""The columnar (Apache Arrow) form of events: one wide table, a nullable column per field.

Where volume lives (the store, the builders) events travel as Arrow tables in this schema, not as
one Python object per event. Conversion from and to structs is exact: ``table_to_events(
events_to_table(evs)) == evs``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Final, cast

import msgspec
import pyarrow as pa

from workprint.events.model import EVENT_TYPES, Event

_TAGS: Final = {cls: cls.__struct_config__.tag for cls in EVENT_TYPES}
_BY_TAG: Final = {tag: cls for cls, tag in _TAGS.items()}

EVENT_SCHEMA: Final = pa.schema(
    [
        pa.field("type", pa.dictionary(pa.int8(), pa.string()), nullable=False),
        pa.field("t", pa.int64(), nullable=False),
        pa.field("session", pa.dictionary(pa.int32(), pa.string()), nullable=False),
        pa.field("seq", pa.int64(), nullable=False),
        # keys
        pa.field("cls", pa.dictionary(pa.int8(), pa.string())),
        pa.field("key", pa.string()),
        pa.field("char", pa.string()),
        pa.field("keycode", pa.int16()),
        pa.field("mods", pa.list_(pa.string())),
        # pointer
        pa.field("x", pa.int32()),
        pa.field("y", pa.int32()),
        pa.field("button", pa.int8()),
        pa.field("dx", pa.int32()),
        pa.field("dy", pa.int32()),
        # window
        pa.field("app", pa.string()),
        pa.field("title", pa.string()),
        pa.field("pid", pa.int64()),
        pa.field("window", pa.int64()),
        # lifecycle
        pa.field("device", pa.string()),
        pa.field("host", pa.string()),
        pa.field("schema", pa.int16()),
        pa.field("screen_w", pa.int32()),
        pa.field("screen_h", pa.int32()),
        pa.field("source", pa.string()),
        pa.field("scopes", pa.list_(pa.string())),
        pa.field("policy_version", pa.int32()),
        pa.field("reason", pa.string()),
        pa.field("t_end", pa.int64()),
        # editor-level logs
        pa.field("ref_seq", pa.int64()),
        pa.field("caret", pa.int64()),
        pa.field("doc_len", pa.int64()),
        pa.field("start", pa.int64()),
        pa.field("end", pa.int64()),
        pa.field("text", pa.string()),
        # browser
        pa.field("tab", pa.int32()),
        pa.field("url", pa.string()),
        pa.field("transition", pa.dictionary(pa.int8(), pa.string())),
        pa.field("op", pa.dictionary(pa.int8(), pa.string())),
        pa.field("act", pa.dictionary(pa.int8(), pa.string())),
        pa.field("el_tag", pa.string()),
        pa.field("el_role", pa.string()),
        pa.field("el_name", pa.string()),
        pa.field("el_id", pa.string()),
        pa.field("el_type", pa.string()),
        pa.field("el_autocomplete", pa.string()),
        pa.field("el_selector", pa.string()),
        pa.field("el_box", pa.list_(pa.int32())),
        pa.field("vw", pa.int32()),
        pa.field("vh", pa.int32()),
        pa.field("value", pa.string()),
        pa.field("length", pa.int32()),
        pa.field("visible_ms", pa.int64()),
        pa.field("focused_ms", pa.int64()),
        pa.field("engine", pa.string()),
        pa.field("query", pa.string()),
        pa.field("rank", pa.int32()),
        pa.field("domain", pa.string()),
    ]
)
COLUMNS: Final = tuple(EVENT_SCHEMA.names)
_FIELDS_BY_TYPE: Final = {tag: frozenset(cls.__struct_fields__) for cls, tag in _TAGS.items()}


def events_to_table(events: Sequence[Event]) -> pa.Table:
    """Structs → one Arrow table in ``EVENT_SCHEMA`` (fields an event type lacks are null).

    A column no event of the batch has becomes an all-null array without a Python list:
    a batch uses a handful of the schema's columns, and converting the rest from lists of
    ``None`` was most of the cost of this function in the collector."""
    n = len(events)
    columns: dict[str, list[Any]] = {}
    types: list[Any] = [None] * n
    for row, event in enumerate(events):
        types[row] = _TAGS[type(event)]
        for name in event.__struct_fields__:
            value = getattr(event, name)
            column = columns.get(name)
            if column is None:
                columns[name] = column = [None] * n
            column[row] = list(value) if isinstance(value, tuple) else value
    columns["type"] = types
    arrays = [
        pa.array(columns[f.name], type=f.type) if f.name in columns else pa.nulls(n, f.type)
        for f in EVENT_SCHEMA
    ]
    return pa.Table.from_arrays(arrays, schema=EVENT_SCHEMA)


def table_to_events(table: pa.Table) -> list[Event]:
    """An Arrow table in (a superset or subset of the columns of) ``EVENT_SCHEMA`` → structs."""
    present = [name for name in COLUMNS if name in table.column_names]
    data = {name: table.column(name).to_pylist() for name in present}
    events: list[Event] = []
    for row, tag in enumerate(data["type"]):
        cls = _BY_TAG.get(tag)
        if cls is None:
            raise ValueError(f"row {row}: unknown event type {tag!r}")
        wanted = _FIELDS_BY_TYPE[tag]
        fields = {
            name: data[name][row]
            for name in present
            if name in wanted and data[name][row] is not None
        }
        events.append(cast(Event, msgspec.convert(fields, cls)))
    return events


def iter_tables(events: Iterable[Event], rows: int = 65_536) -> Iterable[pa.Table]:
    """Stream events as tables of at most ``rows`` rows."""
    chunk: list[Event] = []
    for event in events:
        chunk.append(event)
        if len(chunk) >= rows:
            yield events_to_table(chunk)
            chunk = []
    if chunk:
        yield events_to_table(chunk)
