"""The action record: one high-level step of a computer-use demonstration.

Times are never rewritten: ``t_start``/``t_end`` are the raw timestamps of the action's first own
event (the press, the first wheel notch, the first key) and of its last one (the last release,
notch or key release), and ``seq_first``..``seq_last`` is the contiguous range of raw events it
came from, approach path included. docs/actions.md documents every field.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final, Literal

import msgspec
import pyarrow as pa

BUILDER_NAME: Final = "workprint.actions"
BUILDER_VERSION: Final = "1.0.0"

ActionKind = Literal[
    "click",
    "double_click",
    "triple_click",
    "right_click",
    "middle_click",
    "drag",
    "long_press",
    "move_to",
    "scroll",
    "type",
    "key",
    "hotkey",
]
POINTER_KINDS: Final = frozenset(
    {
        "click",
        "double_click",
        "triple_click",
        "right_click",
        "middle_click",
        "drag",
        "long_press",
        "scroll",
    }
)


class Action(msgspec.Struct, kw_only=True, omit_defaults=True):
    session: str
    kind: ActionKind
    t_start: int
    t_end: int
    seq_first: int
    seq_last: int
    n_events: int
    complete: bool = True
    button: str | None = None
    count: int = 1
    x: int | None = None
    y: int | None = None
    x2: int | None = None
    y2: int | None = None
    nx: float | None = None
    ny: float | None = None
    nx2: float | None = None
    ny2: float | None = None
    dx: int | None = None
    dy: int | None = None
    mods: tuple[str, ...] = ()
    keys: tuple[str, ...] = ()
    text: str | None = None
    caret: int | None = None
    path_x: tuple[int, ...] = ()
    path_y: tuple[int, ...] = ()
    path_t: tuple[int, ...] = ()
    app: str | None = None
    title: str | None = None
    window: int | None = None
    screen_w: int | None = None
    screen_h: int | None = None
    element: str | None = None  # filled once the browser part exists
    url: str | None = None


ACTION_SCHEMA: Final = pa.schema(
    [
        pa.field("session", pa.string(), nullable=False),
        pa.field("kind", pa.string(), nullable=False),
        pa.field("t_start", pa.int64(), nullable=False),
        pa.field("t_end", pa.int64(), nullable=False),
        pa.field("seq_first", pa.int64(), nullable=False),
        pa.field("seq_last", pa.int64(), nullable=False),
        pa.field("n_events", pa.int64(), nullable=False),
        pa.field("complete", pa.bool_(), nullable=False),
        pa.field("button", pa.string()),
        pa.field("count", pa.int32(), nullable=False),
        pa.field("x", pa.int32()),
        pa.field("y", pa.int32()),
        pa.field("x2", pa.int32()),
        pa.field("y2", pa.int32()),
        pa.field("nx", pa.float64()),
        pa.field("ny", pa.float64()),
        pa.field("nx2", pa.float64()),
        pa.field("ny2", pa.float64()),
        pa.field("dx", pa.int32()),
        pa.field("dy", pa.int32()),
        pa.field("mods", pa.list_(pa.string()), nullable=False),
        pa.field("keys", pa.list_(pa.string()), nullable=False),
        pa.field("text", pa.string()),
        pa.field("caret", pa.int32()),
        pa.field("path_x", pa.list_(pa.int32()), nullable=False),
        pa.field("path_y", pa.list_(pa.int32()), nullable=False),
        pa.field("path_t", pa.list_(pa.int64()), nullable=False),
        pa.field("app", pa.string()),
        pa.field("title", pa.string()),
        pa.field("window", pa.int64()),
        pa.field("screen_w", pa.int32()),
        pa.field("screen_h", pa.int32()),
        pa.field("element", pa.string()),
        pa.field("url", pa.string()),
    ]
)
ACTION_COLUMNS: Final = tuple(ACTION_SCHEMA.names)
_LIST_COLUMNS: Final = frozenset({"mods", "keys", "path_x", "path_y", "path_t"})


def empty_actions() -> pa.Table:
    return ACTION_SCHEMA.empty_table()


def actions_to_table(actions: Sequence[Action]) -> pa.Table:
    """Structs → one Arrow table in ``ACTION_SCHEMA``."""
    columns: dict[str, list[Any]] = {name: [] for name in ACTION_COLUMNS}
    for action in actions:
        for name in ACTION_COLUMNS:
            value = getattr(action, name)
            columns[name].append(list(value) if name in _LIST_COLUMNS else value)
    return pa.Table.from_pydict(columns, schema=ACTION_SCHEMA)


def table_to_actions(table: pa.Table) -> list[Action]:
    """An Arrow table in ``ACTION_SCHEMA`` → structs (the exporters' input)."""
    rows = table.to_pylist()
    out: list[Action] = []
    for row in rows:
        fields = {
            k: (tuple(v) if k in _LIST_COLUMNS else v)
            for k, v in row.items()
            if k in ACTION_COLUMNS and v is not None
        }
        out.append(msgspec.convert(fields, Action))
    return out


def normalised(value: int | None, size: int | None) -> float | None:
    """A pixel coordinate as a fraction of the screen (None when the screen size is unknown)."""
    if value is None or not size:
        return None
    return value / size
