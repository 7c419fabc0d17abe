"""The text typed into each window, read off the writing-process builder's cursor model.

Typed means typed: the model's clipboard is off, so a paste is not text the person typed (it is
counted as unmodelled in the writing record instead). Selections, Ctrl word moves and deletions,
Home/End and Up/Down follow the rules in docs/writing.md; where a mouse click put the caret is not
observable from input events, so the caret stays where the keys left it.
"""

from __future__ import annotations

from collections.abc import Iterable

from workprint.builders.writing import WritingConfig, build_writing, table_to_records
from workprint.events import Event, KeyDown, MouseDown, WindowFocus
from workprint.events.columnar import events_to_table

_TYPED_ONLY = WritingConfig(clipboard=False, burst_text=False)


def _label(app: str | None, title: str | None, window: int) -> str:
    if app is None:
        return f"window {window}"
    return f"{app}: {title}" if title else f"{app} window {window}"


def typed_text_by_window(events: Iterable[Event]) -> dict[str, str]:
    """Text typed into each window, keyed "app: title" (or "window <id>" without a title);
    a window typed into in several sessions gets their texts one after the other."""
    wanted = [e for e in events if isinstance(e, KeyDown | WindowFocus | MouseDown)]
    if not wanted:
        return {}
    table = build_writing(events_to_table(wanted), _TYPED_ONLY)
    typed: dict[str, str] = {}
    labels: dict[int, str] = {}
    for record in table_to_records(table):
        label = labels.setdefault(record.window, _label(record.app, record.title, record.window))
        typed[label] = typed.get(label, "") + record.final_text
    return typed
