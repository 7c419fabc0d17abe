"""The fast reducer: the reference's rules over NumPy columns, with Python touching only the
rows that can change what an action is.

Mouse moves (~90% of a real stream) and ordinary key releases are never visited one by one:
a gesture's drag distance is one vectorised max over its rows, approach paths and hovers are
found with ``searchsorted`` over move rows, ranges with prefix scans (fast_ranges.py). The
Python loop runs over presses, releases of buttons and modifiers, wheel notches, key presses,
focus changes and boundaries. Its output is identical to reference.py (tests hold it to that).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from workprint.builders.actions import keys as K
from workprint.builders.actions.columns import (
    BOUNDARY,
    DOWN,
    FOCUS,
    KEY_DOWN,
    KEY_UP,
    SCROLL,
    START,
    UP,
    Columns,
    IntArray,
)
from workprint.builders.actions.fast_ranges import Drafts, assemble
from workprint.builders.actions.thresholds import DEFAULT_THRESHOLDS, Thresholds
from workprint.builders.actions.typing import EDIT_OPS, GapCursor
from workprint.builders.actions.web_context import attach_web_fast

Ctx = tuple[str | None, str | None, int | None]
_NO_CTX: Ctx = (None, None, None)


@dataclass
class _Pending:
    what: str
    onset: int
    last: int
    last_t: int
    fields: dict[str, Any]
    cursor: GapCursor = field(default_factory=GapCursor)


class _Scan:
    """Rules 1–4 of reference.py over the candidate rows only."""

    def __init__(self, cols: Columns, th: Thresholds) -> None:
        self.c = cols
        self.drafts = Drafts()
        self.dbl_ns = round(th.double_click_s * 1e9)
        self.dbl_d2 = th.double_click_px**2
        self.drag_d2 = th.drag_px**2
        self.long_ns = round(th.long_press_s * 1e9)
        self.scroll_ns = round(th.scroll_gap_s * 1e9)
        self.scroll_d2 = th.scroll_px**2
        self.type_ns = round(th.type_pause_s * 1e9)
        self.repeat_ns = round(th.key_repeat_s * 1e9)
        self.fold_home_end = th.fold_home_end
        self.ptr_last, self.px, self.py = cols.pointer_ff()
        self.max_d2 = self.gesture_distances()
        self.reset()

    def gesture_distances(self) -> dict[int, int]:
        """Press row → the largest squared distance from the press point within its gesture,
        for every gesture at once. Which rows a gesture spans depends only on presses, releases
        and boundaries, so one cheap pass over those finds them; the distances are one
        vectorised max over all gesture rows."""
        c = self.c
        code = c.code
        rows = np.flatnonzero((code == DOWN) | (code == UP) | (code >= BOUNDARY) & (code <= START))
        rows = np.union1d(rows, np.flatnonzero(c.session_change))
        presses: list[int] = []
        ends: list[int] = []
        open_row, open_button = -1, 0
        changes = c.session_change[rows].tolist()
        for r, k, b, change in zip(
            rows.tolist(), code[rows].tolist(), c.button[rows].tolist(), changes, strict=True
        ):
            if open_row >= 0 and (change or k in (BOUNDARY, START)):
                presses.append(open_row)
                ends.append(r - 1)
                open_row = -1
            if k == DOWN and open_row < 0:
                open_row, open_button = r, b
            elif k == UP and open_row >= 0 and b == open_button:
                presses.append(open_row)
                ends.append(r)
                open_row = -1
        if open_row >= 0:
            presses.append(open_row)
            ends.append(c.n - 1)
        if not presses:
            return {}
        p, e = np.array(presses), np.array(ends)
        lengths = e - p + 1
        offsets = np.zeros(len(p), np.int64)
        np.cumsum(lengths[:-1], out=offsets[1:])
        gid = np.repeat(np.arange(len(p)), lengths)
        idx = p[gid] + np.arange(len(gid)) - offsets[gid]
        d2 = (self.px[idx] - c.x[p][gid]) ** 2 + (self.py[idx] - c.y[p][gid]) ** 2
        return dict(zip(presses, np.maximum.reduceat(d2, offsets).tolist(), strict=True))

    def reset(self) -> None:
        self.held: dict[str, str] = {}
        self.gesture: tuple[str, int, int, int, int, int, tuple[str, ...]] | None = None
        self.pending: _Pending | None = None
        self.tap: tuple[str, int] | None = None

    def run(self) -> Drafts:
        c = self.c
        rows = c.loop_rows()
        codes = c.code[rows].tolist()
        ts = c.t[rows].tolist()
        xs = c.x[rows].tolist()
        ys = c.y[rows].tolist()
        buttons = c.button[rows].tolist()
        dxs = c.dx[rows].tolist()
        dys = c.dy[rows].tolist()
        changes = c.session_change[rows].tolist()
        kidx_arr = np.searchsorted(c.key_rows, rows)
        kidx = kidx_arr.tolist()
        run_end = self.char_runs(rows, kidx_arr).tolist()
        chars = c.char
        table = c.table
        ctx = _NO_CTX
        rows_list = rows.tolist()
        i, n = 0, len(rows_list)
        while i < n:
            r, code = rows_list[i], codes[i]
            if changes[i]:
                self.boundary(r)
                ctx = _NO_CTX
            if code == KEY_DOWN:
                self.key_down(r, ts[i], kidx[i], ctx)
                j = run_end[i]
                if j > i:  # a run of typed characters: fold it in one step
                    self.tap = None
                    p = self.pending
                    if self.gesture is None and p is not None:
                        typed = [chars[k] for k in kidx[i + 1 : j + 1]]
                        if None in typed:
                            typed = [K.typed_char(chars[k], c.cls[k]) for k in kidx[i + 1 : j + 1]]
                        p.cursor.insert("".join(typed))
                        p.fields["count"] += j - i
                        p.last, p.last_t = rows_list[j], ts[j]
                    i = j
            elif code == DOWN:
                self.tap = None
                if self.gesture is None:
                    b = buttons[i]
                    self.gesture = (K.button_name(b), b, r, ts[i], xs[i], ys[i], self.mods())
            elif code == UP:
                g = self.gesture
                if g is not None and buttons[i] == g[1]:
                    self.finish_gesture(r, ts[i], xs[i], ys[i], True)
            elif code == SCROLL:
                self.tap = None
                if self.gesture is None:
                    self.scroll(r, ts[i], xs[i], ys[i], dxs[i], dys[i])
            elif code == KEY_UP:
                self.key_up(r, kidx[i])
            elif code == FOCUS:
                ctx = (
                    table.column("app")[r].as_py(),
                    table.column("title")[r].as_py(),
                    table.column("window")[r].as_py() or 0,
                )
            elif code in (BOUNDARY, START):
                self.boundary(r)
                ctx = _NO_CTX if code == START else ctx
            i += 1
        self.boundary(c.n)
        return self.drafts

    def char_runs(self, rows: IntArray, kidx: IntArray) -> IntArray:
        """For each candidate row, the last candidate of the run of character key presses it
        starts: presses that each follow the previous one within ``type_pause_s`` with no other
        candidate (click, focus change, modifier, boundary…) in between. Such a run can only
        extend one ``type`` action, so the scan folds it in one step."""
        c = self.c
        n = len(rows)
        kcode = np.array(c.kcode, np.int64) if c.kcode else np.zeros(0, np.int64)
        is_char = c.code[rows] == KEY_DOWN
        if n and len(kcode):
            is_char &= kcode[np.minimum(kidx, len(kcode) - 1)] == K.K_CHAR
        cont = np.zeros(n + 1, bool)
        t = c.t[rows]
        cont[1:n] = is_char[1:] & is_char[:-1] & (np.diff(t) <= self.type_ns)
        cont[1:n] &= ~c.session_change[rows][1:]
        breaks = np.where(cont, n, np.arange(n + 1))
        first_break = np.minimum.accumulate(breaks[::-1])[::-1]
        ends: IntArray = first_break[1:] - 1
        return np.where(is_char, ends, np.arange(n))

    def mods(self) -> tuple[str, ...]:
        return K.held_mods(self.held) if self.held else ()

    def boundary(self, r: int) -> None:
        if self.gesture is not None:
            last = r - 1
            self.finish_gesture(
                last, int(self.c.t[last]), int(self.px[last]), int(self.py[last]), False
            )
        self.flush()
        self.reset()

    def finish_gesture(self, r: int, t: int, x2: int, y2: int, complete: bool) -> None:
        g = self.gesture
        assert g is not None
        self.gesture = None
        button, _, row, t0, x, y, mods = g
        max_d2 = self.max_d2[row]
        if max_d2 >= self.drag_d2:
            self.flush()
            self.drafts.add(
                "drag",
                row,
                r,
                False,
                button=button,
                x=x,
                y=y,
                x2=x2,
                y2=y2,
                mods=mods,
                complete=complete,
            )
        elif t - t0 >= self.long_ns:
            self.flush()
            self.drafts.add(
                "long_press", row, r, False, button=button, x=x, y=y, mods=mods, complete=complete
            )
        else:
            p = self.pending
            if (
                complete
                and p is not None
                and p.what == "click"
                and p.fields["button"] == button
                and p.fields["mods"] == mods
                and p.fields["count"] < 3
                and t0 - p.last_t <= self.dbl_ns
                and (x - p.fields["x"]) ** 2 + (y - p.fields["y"]) ** 2 <= self.dbl_d2
            ):
                p.fields["count"] += 1
                p.last, p.last_t = r, t0
                return
            self.flush()
            fields = {"button": button, "x": x, "y": y, "mods": mods, "complete": complete}
            self.pending = _Pending("click", row, r, t0, {**fields, "count": 1})

    def scroll(self, r: int, t: int, x: int, y: int, dx: int, dy: int) -> None:
        mods = self.mods()
        direction = ((dx > 0) - (dx < 0), (dy > 0) - (dy < 0))
        p = self.pending
        if p is not None and p.what == "scroll":
            f = p.fields
            if (
                f["direction"] == direction
                and f["mods"] == mods
                and t - p.last_t <= self.scroll_ns
                and (x - f["x"]) ** 2 + (y - f["y"]) ** 2 <= self.scroll_d2
            ):
                f["dx"] += dx
                f["dy"] += dy
                f["count"] += 1
                p.last, p.last_t = r, t
                return
        self.flush()
        fields = {"x": x, "y": y, "dx": dx, "dy": dy, "count": 1, "mods": mods}
        self.pending = _Pending("scroll", r, r, t, {**fields, "direction": direction})

    def key_down(self, r: int, t: int, k: int, ctx: Ctx) -> None:
        c = self.c
        key, code = c.key[k], c.kcode[k]
        if code == K.K_MODIFIER:
            mod = K.MODIFIER_OF_KEY.get(key or "")
            others = any(h != key for h in self.held)
            if self.gesture is None and mod in K.TAP_MODS and not others:
                if self.tap is None or self.tap[0] != key:
                    self.tap = (key or "", r)
            else:
                self.tap = None
            if mod is not None and key is not None:
                self.held[key] = mod
            return
        self.tap = None
        if self.gesture is not None:
            return
        p = self.pending
        same_run = (
            p is not None
            and p.what == "type"
            and p.fields["ctx"] == ctx
            and t - p.last_t <= self.type_ns
        )
        if code == K.K_CHAR:
            if not same_run:
                self.flush()
                self.pending = p = _Pending("type", r, r, t, {"ctx": ctx, "count": 0})
            assert p is not None
            char = c.char[k]
            p.cursor.insert(char if char is not None else K.typed_char(char, c.cls[k]))
            p.fields["count"] += 1
            p.last, p.last_t = r, t
            return
        if code == K.K_EDIT and same_run:
            assert p is not None and key is not None
            folds = self.fold_home_end or key not in ("Home", "End")
            if folds and p.cursor.edit(EDIT_OPS[key]):
                p.fields["count"] += 1
                p.last, p.last_t = r, t
                return
        name = K.key_name(key, c.char[k], c.cls[k])
        kind = "hotkey" if code == K.K_HOTKEY else "key"
        held = K.mods_from_bits(c.mod_bits[k])
        keys = K.hotkey_keys(held, name) if kind == "hotkey" else (name,)
        if (
            p is not None
            and p.what == "key"
            and p.fields["kind"] == kind
            and p.fields["keys"] == keys
            and p.fields["ctx"] == ctx
            and t - p.last_t <= self.repeat_ns
        ):
            p.fields["count"] += 1
            p.last, p.last_t = r, t
            return
        self.flush()
        self.pending = _Pending(
            "key", r, r, t, {"kind": kind, "keys": keys, "count": 1, "ctx": ctx}
        )

    def key_up(self, r: int, k: int) -> None:
        key = self.c.key[k]
        if key is None or key not in self.held:
            return
        tap = self.tap
        if tap is not None and tap[0] == key:
            self.tap = None
            self.flush()
            mod = K.MODIFIER_OF_KEY[key]
            self.drafts.add("key", tap[1], r, True, keys=(mod,))
        del self.held[key]

    def flush(self) -> None:
        p, self.pending = self.pending, None
        if p is None:
            return
        f = p.fields
        add = self.drafts.add
        if p.what == "click":
            kind = K.click_kind(f["button"], f["count"])
            add(kind, p.onset, p.last, False, button=f["button"], x=f["x"], y=f["y"],
                mods=f["mods"], complete=f["complete"], count=f["count"])  # fmt: skip
        elif p.what == "scroll":
            add("scroll", p.onset, p.last, False, x=f["x"], y=f["y"], dx=f["dx"], dy=f["dy"],
                count=f["count"], mods=f["mods"])  # fmt: skip
        elif p.what == "type":
            cursor = p.cursor
            add("type", p.onset, p.last, True, text=cursor.text, caret=cursor.caret,
                count=f["count"])  # fmt: skip
        else:
            add(f["kind"], p.onset, p.last, True, keys=f["keys"], count=f["count"])


def reduce_actions(table: pa.Table, thresholds: Thresholds = DEFAULT_THRESHOLDS) -> pa.Table:
    """Raw events (``EVENT_SCHEMA``, in recording order) → actions (``ACTION_SCHEMA``)."""
    cols = Columns.from_table(table)
    drafts = _Scan(cols, thresholds).run()
    return attach_web_fast(assemble(cols, drafts, thresholds), table, thresholds.web_join_s)
