"""Consent enforced again on the server, one vectorised pass per batch.

The person's consent history (a handful of grants and revocations) becomes, per scope, sorted
disjoint intervals ``[start, end)`` in which the scope was in force; each event is judged at its
own ``t`` with a binary search. The rules mirror the edge gate (workprint.policy.gate): key
events need input-timing and, if they carry which key it was, text-content; pointer events need
mouse; focus events need app-usage and, with a title, window-titles. Lifecycle markers carry no
scoped content and pass. An unknown event type never passes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from workprint.events import NAMED_KEY_CLASSES, SCOPES
from workprint.policy.consent import effective_scopes
from workprint.store.interface import ConsentRecord

KEY_TYPES: Final = ("key_down", "key_up")
MOUSE_TYPES: Final = ("mouse_move", "mouse_down", "mouse_up", "scroll")
FOCUS_TYPES: Final = ("window_focus",)
EDITOR_TYPES: Final = ("editor_edit",)  # editor logs hold the text itself
WEB_TYPES: Final = ("web_nav", "web_tab", "web_act", "web_dwell", "web_search")  # browser
MARKER_TYPES: Final = ("session_start", "session_stop", "pause", "resume", "consent_change", "gap")
_FOREVER: Final = 2**63 - 1

Mask = npt.NDArray[np.bool_]
Intervals = tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]


def scope_intervals(history: Sequence[ConsentRecord]) -> dict[str, Intervals]:
    """Per scope, when it was in force (companion rules applied), from the history in t order."""
    granted: set[str] = set()
    opened: dict[str, int] = {}
    spans: dict[str, list[tuple[int, int]]] = {scope: [] for scope in SCOPES}
    for record in sorted(history, key=lambda r: r.t):  # stable: same-t records keep their order
        before = effective_scopes(granted)
        if record.action == "grant":
            granted.update(record.scopes)
        else:
            granted.difference_update(record.scopes)
        after = effective_scopes(granted)
        for scope in after - before:
            opened[scope] = record.t
        for scope in before - after:
            start = opened.pop(scope)
            if record.t > start:
                spans[scope].append((start, record.t))
    for scope, start in opened.items():
        spans[scope].append((start, _FOREVER))
    return {
        scope: (
            np.array([s for s, _ in pairs], dtype=np.int64),
            np.array([e for _, e in pairs], dtype=np.int64),
        )
        for scope, pairs in spans.items()
    }


def in_force(intervals: Intervals, t: npt.NDArray[np.int64]) -> Mask:
    """For each time in ``t``, whether it falls inside one of the intervals."""
    starts, ends = intervals
    if len(starts) == 0:
        return np.zeros(len(t), dtype=np.bool_)
    idx = np.searchsorted(starts, t, side="right") - 1
    end = ends[np.maximum(idx, 0)]
    inside: Mask = (idx >= 0) & ((t < end) | (end == _FOREVER))
    return inside


def allowed(table: pa.Table, intervals: dict[str, Intervals], type_masks: dict[str, Mask]) -> Mask:
    """Which rows of an EVENT_SCHEMA table the consent history allows (``type_masks``: per
    event type, its rows)."""
    n = table.num_rows
    if n == 0:
        return np.zeros(0, dtype=np.bool_)
    t = table.column("t").to_numpy()

    def is_type(names: tuple[str, ...]) -> Mask:
        mask = np.zeros(n, dtype=np.bool_)
        for name in names:
            if name in type_masks:
                mask |= type_masks[name]
        return mask

    def scope(name: str) -> Mask:
        return in_force(intervals[name], t)

    def present(column: str) -> Mask:
        return _mask(pc.is_valid(table.column(column)))

    is_key, is_mouse, is_focus = is_type(KEY_TYPES), is_type(MOUSE_TYPES), is_type(FOCUS_TYPES)
    ok = is_type(MARKER_TYPES)
    if is_key.any():
        key = table.column("key")
        named = _mask(pc.is_in(pc.cast(table.column("cls"), pa.string()), _named_classes()))
        long_name = _mask(pc.greater_equal(pc.utf8_length(key), 2))
        names_text = present("key") & ~(named & long_name)
        carries_text = present("char") | present("keycode") | names_text
        ok |= is_key & scope("input-timing") & (~carries_text | scope("text-content"))
    if is_mouse.any():
        ok |= is_mouse & scope("mouse")
    if is_focus.any():
        ok |= is_focus & scope("app-usage") & (~present("title") | scope("window-titles"))
    is_editor = is_type(EDITOR_TYPES)
    if is_editor.any():
        ok |= is_editor & scope("input-timing") & scope("text-content")
    is_web = is_type(WEB_TYPES)
    if is_web.any():  # a typed value in a page needs text-content, as at the edge
        ok |= is_web & scope("browsing") & (~present("value") | scope("text-content"))
    return ok


def _named_classes() -> pa.Array:
    return pa.array(sorted(NAMED_KEY_CLASSES), pa.string())


def _mask(values: pa.ChunkedArray | pa.Array) -> Mask:
    """A boolean Arrow result as numpy, nulls counting as False."""
    filled = pc.fill_null(values, False)
    if isinstance(filled, pa.ChunkedArray):
        filled = filled.combine_chunks()
    result: Mask = filled.to_numpy(zero_copy_only=False).astype(np.bool_, copy=False)
    return result
