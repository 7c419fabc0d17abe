"""Rule 5 of reference.py with whole-array operations: each draft's raw row range, hovers that
become ``move_to`` actions, approach/drag paths and context, then the actions table."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from workprint.builders.actions.columns import (
    BOUNDARY,
    FOCUS,
    KEY_UP,
    MOVE,
    START,
    Columns,
    IntArray,
)
from workprint.builders.actions.model import ACTION_SCHEMA
from workprint.builders.actions.thresholds import Thresholds

FIELDS: tuple[tuple[str, Any], ...] = (
    ("complete", True),
    ("button", None),
    ("count", 1),
    ("x", None),
    ("y", None),
    ("x2", None),
    ("y2", None),
    ("dx", None),
    ("dy", None),
    ("mods", ()),
    ("keys", ()),
    ("text", None),
    ("caret", None),
)


class Drafts:
    """Actions before their ranges are known (few rows: one per action)."""

    def __init__(self) -> None:
        self.kind: list[str] = []
        self.onset: list[int] = []
        self.last: list[int] = []
        self.keyboard: list[bool] = []
        self.rows: list[tuple[Any, ...]] = []

    def add(
        self,
        kind: str,
        onset: int,
        last: int,
        keyboard: bool,
        *,
        complete: bool = True,
        button: str | None = None,
        count: int = 1,
        x: int | None = None,
        y: int | None = None,
        x2: int | None = None,
        y2: int | None = None,
        dx: int | None = None,
        dy: int | None = None,
        mods: tuple[str, ...] = (),
        keys: tuple[str, ...] = (),
        text: str | None = None,
        caret: int | None = None,
    ) -> None:
        self.kind.append(kind)
        self.onset.append(onset)
        self.last.append(last)
        self.keyboard.append(keyboard)
        self.rows.append((complete, button, count, x, y, x2, y2, dx, dy, mods, keys, text, caret))

    @property
    def columns(self) -> dict[str, list[Any]]:
        if not self.rows:
            return {name: [] for name, _ in FIELDS}
        return {
            name: list(v) for (name, _), v in zip(FIELDS, zip(*self.rows, strict=True), strict=True)
        }


def _segments(cols: Columns) -> tuple[IntArray, IntArray]:
    """[start, end) row spans between boundaries, as the reference cuts them."""
    cuts = np.flatnonzero(cols.session_change | (cols.code == BOUNDARY) | (cols.code == START))
    starts: list[int] = []
    ends: list[int] = []
    start = 0
    for r in cuts.tolist():
        if cols.session_change[r]:
            starts.append(start)
            ends.append(r)
            start = r
        if cols.code[r] in (BOUNDARY, START):
            starts.append(start)
            ends.append(r)
            start = r + 1
    starts.append(start)
    ends.append(cols.n)
    return np.array(starts, np.int64), np.array(ends, np.int64)


def _last_true(mask: np.ndarray[Any, Any]) -> IntArray:
    """For every row, the last row at or before it where ``mask`` holds (-1: none)."""
    out = np.where(mask, np.arange(len(mask)), -1)
    np.maximum.accumulate(out, out=out)
    return out


def _ranges(cols: Columns, onset: IntArray, last: IntArray, kb: np.ndarray[Any, Any]) -> Any:
    n = cols.n
    seg_starts, seg_ends = _segments(cols)
    seg = np.searchsorted(seg_starts, onset, "right") - 1
    seg_start, seg_end = seg_starts[seg], seg_ends[seg]
    more = np.zeros(len(onset), bool)
    more[:-1] = seg[1:] == seg[:-1]
    limit = seg_end.copy()
    limit[:-1] = np.where(more[:-1], onset[1:], seg_end[:-1])
    # keyboard actions take the key releases that follow them
    not_ku = np.where(cols.code != KEY_UP, np.arange(n), n)
    next_not_ku = np.append(np.minimum.accumulate(not_ku[::-1])[::-1], n)
    e = np.where(kb, np.minimum(next_not_ku[last + 1], limit) - 1, last)
    first = np.ones(len(onset), bool)
    first[1:] = ~more[:-1]
    prev_e = np.empty_like(e)
    prev_e[1:] = e[:-1]
    prev_e[first] = seg_start[first] - 1
    # ... and the modifier presses and key releases just before them
    before = np.append(-1, _last_true(~cols.neutral_key))
    s = np.where(kb, np.maximum(before[onset] + 1, prev_e + 1), prev_e + 1)
    # free gaps: before each keyboard action, and after the last action of every segment
    gap_a = [prev_e[kb] + 1]
    gap_b = [s[kb] - 1]
    gap_next = [onset[kb]]
    tail_a = seg_starts.copy()
    is_last = ~more
    tail_a[seg[is_last]] = e[is_last] + 1
    gap_a.append(tail_a)
    gap_b.append(seg_ends - 1)
    gap_next.append(np.full(len(seg_starts), -1))
    gap_seg_start = np.concatenate([seg_start[kb], seg_starts])
    gaps = (np.concatenate(gap_a), np.concatenate(gap_b), np.concatenate(gap_next))
    return e, s, gaps, gap_seg_start


def _hovers(
    cols: Columns, th: Thresholds, gaps: Any, gap_seg_start: IntArray, move_rows: IntArray
) -> tuple[IntArray, IntArray]:
    """Free gaps whose movement is a deliberate hover → (first move row, last move row)."""
    a, b, next_onset = gaps
    i0 = np.searchsorted(move_rows, a, "left")
    i1 = np.searchsorted(move_rows, b, "right")
    has = i1 > i0
    a, b, next_onset, i0, i1 = a[has], b[has], next_onset[has], i0[has], i1[has]
    f, m = move_rows[i0], move_rows[i1 - 1]
    ptr_last, px, py = cols.pointer_ff()
    lp = np.where(f >= 1, ptr_last[np.maximum(f - 1, 0)], -1)
    known = lp >= gap_seg_start[has]
    bx = np.where(known, px[np.maximum(lp, 0)], cols.x[f])
    by = np.where(known, py[np.maximum(lp, 0)], cols.y[f])
    d2 = (cols.x[m] - bx) ** 2 + (cols.y[m] - by) ** 2
    dwell_ok = (next_onset < 0) | (
        cols.t[np.maximum(next_onset, 0)] - cols.t[m] >= round(th.hover_dwell_s * 1e9)
    )
    keep = (d2 >= th.move_px**2) & dwell_ok
    return f[keep], m[keep]


def _context(cols: Columns, onset: IntArray) -> tuple[list[Any], ...]:
    """App, title, window and screen size in force at each onset row."""
    reset = cols.session_change | (cols.code == START)
    epoch = _last_true(reset)[onset]
    focus = _last_true(cols.code == FOCUS)[onset]
    start = _last_true(cols.code == START)[onset]
    table = cols.table
    has_focus = (focus >= 0) & (focus >= epoch)
    has_start = (start >= 0) & (start >= epoch)

    def pick(name: str, rows: IntArray, ok: np.ndarray[Any, Any]) -> list[Any]:
        values = table.column(name).take(pa.array(np.maximum(rows, 0))).to_pylist()
        return [v if k else None for v, k in zip(values, ok.tolist(), strict=True)]

    app, title = pick("app", focus, has_focus), pick("title", focus, has_focus)
    # a focus row without a window id has the model's default, 0
    window = [
        (w or 0) if k else None
        for w, k in zip(pick("window", focus, has_focus), has_focus.tolist(), strict=True)
    ]
    sw = [v or None for v in pick("screen_w", start, has_start)]
    sh = [v or None for v in pick("screen_h", start, has_start)]
    return app, title, window, sw, sh


def _paths(cols: Columns, s: IntArray, e: IntArray, pointer: Any, move_rows: IntArray) -> Any:
    i0 = np.searchsorted(move_rows, s, "left")
    i1 = np.where(pointer, np.searchsorted(move_rows, e, "right"), i0)
    lengths = i1 - i0
    offsets = np.zeros(len(s) + 1, np.int64)
    np.cumsum(lengths, out=offsets[1:])
    idx = np.repeat(i0 - offsets[:-1], lengths) + np.arange(offsets[-1])
    rows = move_rows[idx]
    off = pa.array(offsets.astype(np.int32))
    return tuple(
        pa.ListArray.from_arrays(off, pa.array(col[rows].astype(dtype)))
        for col, dtype in ((cols.x, np.int32), (cols.y, np.int32), (cols.t, np.int64))
    )


def assemble(cols: Columns, drafts: Drafts, th: Thresholds) -> pa.Table:
    """Drafts → the actions table, rows in order of their ranges."""
    onset = np.array(drafts.onset, np.int64)
    last = np.array(drafts.last, np.int64)
    kb = np.array(drafts.keyboard, bool)
    kinds, columns = drafts.kind, drafts.columns
    if len(onset) > 1 and (np.diff(onset) < 0).any():
        order = np.argsort(onset, kind="stable")
        onset, last, kb = onset[order], last[order], kb[order]
        kinds, columns = _reorder(kinds, columns, order)
    e, s, gaps, gap_seg_start = _ranges(cols, onset, last, kb)
    move_rows = np.flatnonzero(cols.code == MOVE)
    hf, hm = _hovers(cols, th, gaps, gap_seg_start, move_rows)
    if len(hf):
        kinds = kinds + ["move_to"] * len(hf)
        columns = {k: list(v) for k, v in columns.items()}
        for name, default in FIELDS:
            columns[name] += [default] * len(hf)
        columns["x"][-len(hf) :] = cols.x[hm].tolist()
        columns["y"][-len(hf) :] = cols.y[hm].tolist()
        onset = np.concatenate([onset, hf])
        s = np.concatenate([s, hf])
        e = np.concatenate([e, hm])
        kb = np.concatenate([kb, np.zeros(len(hf), bool)])
        order = np.argsort(s, kind="stable")
        onset, s, e, kb = onset[order], s[order], e[order], kb[order]
        kinds, columns = _reorder(kinds, columns, order)
    return _table(cols, kinds, columns, onset, s, e, kb, move_rows)


def _reorder(
    kinds: list[str], columns: dict[str, list[Any]], order: IntArray
) -> tuple[list[str], dict[str, list[Any]]]:
    idx = order.tolist()
    return [kinds[i] for i in idx], {k: [v[i] for i in idx] for k, v in columns.items()}


def _table(
    cols: Columns,
    kinds: list[str],
    columns: dict[str, list[Any]],
    onset: IntArray,
    s: IntArray,
    e: IntArray,
    kb: Any,
    move_rows: IntArray,
) -> pa.Table:
    app, title, window, sw, sh = _context(cols, onset)

    def norm(values: list[Any], sizes: list[Any]) -> list[float | None]:
        return [v / z if v is not None and z else None for v, z in zip(values, sizes, strict=True)]

    x, y, x2, y2 = columns["x"], columns["y"], columns["x2"], columns["y2"]
    path_x, path_y, path_t = _paths(cols, s, e, ~kb, move_rows)
    session = cols.table.column("session").take(pa.array(onset)).cast(pa.string())
    data: dict[str, Any] = {
        **columns,
        "session": session,
        "kind": kinds,
        "t_start": cols.t[onset],
        "t_end": cols.t[e],
        "seq_first": cols.seq[s],
        "seq_last": cols.seq[e],
        "n_events": e - s + 1,
        "nx": norm(x, sw),
        "ny": norm(y, sh),
        "nx2": norm(x2, sw),
        "ny2": norm(y2, sh),
        "path_x": path_x,
        "path_y": path_y,
        "path_t": path_t,
        "app": app,
        "title": title,
        "window": window,
        "screen_w": sw,
        "screen_h": sh,
        "element": pa.nulls(len(kinds), pa.string()),
        "url": pa.nulls(len(kinds), pa.string()),
    }
    arrays = [_array(data[f.name], f.type) for f in ACTION_SCHEMA]
    return pa.Table.from_arrays(arrays, schema=ACTION_SCHEMA)


def _array(values: Any, type_: pa.DataType) -> pa.Array | pa.ChunkedArray:
    if isinstance(values, pa.ChunkedArray | pa.Array):
        return values
    return pa.array(values, type=type_)
