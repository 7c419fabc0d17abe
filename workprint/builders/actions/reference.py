"""The reference reducer: one Python step per raw event, written to be obviously correct.

It is the oracle the fast reducer (fast.py) is tested against on every property-test case and
on the shared data, and the baseline the benchmark measures it against. The rules, in order:

1. Boundaries (session start/stop, pause, resume, gap, consent change, a change of session id)
   end everything open; no action spans one and the boundary row belongs to no action.
2. A press opens a gesture that its button's release closes; anything else inside is absorbed.
   The gesture is a drag if the pointer got ``drag_px`` from the press point, else a long press
   if held ``long_press_s``, else a click; clicks of one button within ``double_click_s`` and
   ``double_click_px`` of the first merge into double/triple clicks.
3. Wheel notches merge while in the same direction, within ``scroll_gap_s`` and ``scroll_px``.
4. Key presses are typing (folded through the cursor model), hotkeys, keys or modifier taps
   (keys.py); identical key/hotkey presses within ``key_repeat_s`` merge.
5. Ranges: a pointer action's range starts right after the previous action (its approach
   path); a keyboard action's starts at its first key, taking the modifier presses and key
   releases just before it; keyboard actions take the key releases that follow them. Movement
   outside every range becomes a ``move_to`` if the pointer moved ``move_px`` and then rested
   ``hover_dwell_s``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from workprint.builders.actions import keys as K
from workprint.builders.actions.model import Action, actions_to_table, normalised
from workprint.builders.actions.thresholds import DEFAULT_THRESHOLDS, Thresholds
from workprint.builders.actions.typing import EDIT_OPS, ReferenceCursor
from workprint.builders.actions.web_context import attach_web_reference
from workprint.events import (
    ConsentChange,
    Event,
    Gap,
    KeyDown,
    KeyUp,
    MouseDown,
    MouseMove,
    MouseUp,
    Pause,
    Resume,
    Scroll,
    SessionStart,
    SessionStop,
    WindowFocus,
)
from workprint.events.columnar import table_to_events

BOUNDARY_TYPES = (SessionStart, SessionStop, Pause, Resume, Gap, ConsentChange)
Ctx = tuple[str | None, str | None, int | None]
NO_CTX: Ctx = (None, None, None)


@dataclass
class Draft:
    """An action before its range is known: its own first (onset) and last rows."""

    kind: str
    onset: int
    last: int
    keyboard: bool
    fields: dict[str, Any]


@dataclass
class Pending:
    """A click group, scroll group, type run or repeated key that may still grow."""

    what: str  # "click" | "scroll" | "type" | "key"
    onset: int
    last: int
    last_t: int
    fields: dict[str, Any]
    cursor: ReferenceCursor = field(default_factory=ReferenceCursor)


def _ns(seconds: float) -> int:
    return round(seconds * 1e9)


def _d2(ax: int, ay: int, bx: int, by: int) -> int:
    return (ax - bx) ** 2 + (ay - by) ** 2


class _Machine:
    """Rules 1–4 over every event, then rule 5 over the drafts of each segment."""

    def __init__(self, events: Sequence[Event], th: Thresholds) -> None:
        self.ev = events
        self.th = th
        self.drafts: list[Draft] = []
        self.segments: list[tuple[int, int]] = []  # [start, end) rows
        self.pos_after: list[tuple[int, int] | None] = []
        self.ctx_at: list[Ctx] = []
        self.screen_at: list[tuple[int | None, int | None]] = []

    # -- state ---------------------------------------------------------------------------------
    def reset(self) -> None:
        self.pos: tuple[int, int] | None = None
        self.held: dict[str, str] = {}
        self.gesture: dict[str, Any] | None = None
        self.pending: Pending | None = None
        self.tap: tuple[str, int, Ctx] | None = None

    def run(self) -> list[Draft]:
        self.reset()
        self.ctx: Ctx = NO_CTX
        self.screen: tuple[int | None, int | None] = (None, None)
        seg_start = 0
        for r, ev in enumerate(self.ev):
            if r > 0 and ev.session != self.ev[r - 1].session:
                self.boundary(r)
                self.segments.append((seg_start, r))
                seg_start = r
                self.ctx, self.screen = NO_CTX, (None, None)
            if isinstance(ev, BOUNDARY_TYPES):
                self.boundary(r)
                self.segments.append((seg_start, r))
                seg_start = r + 1
                if isinstance(ev, SessionStart):
                    self.ctx = NO_CTX
                    self.screen = (ev.screen_w or None, ev.screen_h or None)
            elif isinstance(ev, WindowFocus):
                self.ctx = (ev.app, ev.title, ev.window)
            else:
                self.step(r, ev)
            self.pos_after.append(self.pos)
            self.ctx_at.append(self.ctx)
            self.screen_at.append(self.screen)
        self.boundary(len(self.ev))
        self.segments.append((seg_start, len(self.ev)))
        return self.drafts

    def boundary(self, r: int) -> None:
        if self.gesture is not None:
            self.finish_gesture(r - 1, complete=False)
        self.flush()
        self.reset()

    # -- rules 2-4 ------------------------------------------------------------------------------
    def step(self, r: int, ev: Event) -> None:
        g = self.gesture
        if isinstance(ev, MouseMove | MouseDown | MouseUp | Scroll):
            self.pos = (ev.x, ev.y)
            if g is not None:
                g["max_d2"] = max(g["max_d2"], _d2(ev.x, ev.y, g["x"], g["y"]))
        if isinstance(ev, MouseMove):
            return
        if isinstance(ev, MouseDown):
            self.tap = None
            if g is None:
                self.gesture = {
                    "button": K.button_name(ev.button),
                    "raw_button": ev.button,
                    "row": r,
                    "t": ev.t,
                    "x": ev.x,
                    "y": ev.y,
                    "mods": K.held_mods(self.held),
                    "max_d2": 0,
                }
        elif isinstance(ev, MouseUp):
            if g is not None and ev.button == g["raw_button"]:
                self.finish_gesture(r, complete=True)
        elif isinstance(ev, Scroll):
            self.tap = None
            if g is None:
                self.scroll(r, ev)
        elif isinstance(ev, KeyDown):
            self.key_down(r, ev)
        elif isinstance(ev, KeyUp):
            self.key_up(r, ev)

    def finish_gesture(self, r: int, complete: bool) -> None:
        g = self.gesture
        assert g is not None
        self.gesture = None
        th = self.th
        t_end = self.ev[r].t
        common = {"button": g["button"], "x": g["x"], "y": g["y"], "mods": g["mods"]}
        common["complete"] = complete
        if g["max_d2"] >= th.drag_px**2:
            self.flush()
            assert self.pos is not None
            x2, y2 = self.pos
            self.emit("drag", g["row"], r, False, {**common, "x2": x2, "y2": y2})
        elif t_end - g["t"] >= _ns(th.long_press_s):
            self.flush()
            self.emit("long_press", g["row"], r, False, common)
        else:
            p = self.pending
            if (
                complete
                and p is not None
                and p.what == "click"
                and p.fields["button"] == g["button"]
                and p.fields["mods"] == g["mods"]
                and p.fields["count"] < 3
                and g["t"] - p.last_t <= _ns(th.double_click_s)
                and _d2(g["x"], g["y"], p.fields["x"], p.fields["y"]) <= th.double_click_px**2
            ):
                p.fields["count"] += 1
                p.last, p.last_t = r, g["t"]
                return
            self.flush()
            self.pending = Pending("click", g["row"], r, g["t"], {**common, "count": 1})

    def scroll(self, r: int, ev: Scroll) -> None:
        th = self.th
        mods = K.held_mods(self.held)
        direction = ((ev.dx > 0) - (ev.dx < 0), (ev.dy > 0) - (ev.dy < 0))
        p = self.pending
        if (
            p is not None
            and p.what == "scroll"
            and p.fields["direction"] == direction
            and p.fields["mods"] == mods
            and ev.t - p.last_t <= _ns(th.scroll_gap_s)
            and _d2(ev.x, ev.y, p.fields["x"], p.fields["y"]) <= th.scroll_px**2
        ):
            p.fields["dx"] += ev.dx
            p.fields["dy"] += ev.dy
            p.fields["count"] += 1
            p.last, p.last_t = r, ev.t
            return
        self.flush()
        fields = {"x": ev.x, "y": ev.y, "dx": ev.dx, "dy": ev.dy, "count": 1, "mods": mods}
        self.pending = Pending("scroll", r, r, ev.t, {**fields, "direction": direction})

    def key_down(self, r: int, ev: KeyDown) -> None:
        mods = K.mods_of(ev.mods)
        code = K.classify_key(ev.key, ev.char, ev.cls, mods)
        if code == K.K_MODIFIER:
            mod = K.MODIFIER_OF_KEY.get(ev.key or "")
            others = {k for k in self.held if k != ev.key}
            if self.gesture is None and mod in K.TAP_MODS and not others:
                if self.tap is None or self.tap[0] != ev.key:
                    self.tap = (ev.key or "", r, self.ctx)
            else:
                self.tap = None
            if mod is not None and ev.key is not None:
                self.held[ev.key] = mod
            return
        self.tap = None
        if self.gesture is not None:
            return
        th = self.th
        p = self.pending
        same_run = (
            p is not None
            and p.what == "type"
            and p.fields["ctx"] == self.ctx
            and ev.t - p.last_t <= _ns(th.type_pause_s)
        )
        if code == K.K_CHAR:
            if not same_run:
                self.flush()
                self.pending = p = Pending("type", r, r, ev.t, {"ctx": self.ctx, "count": 0})
            assert p is not None
            p.cursor.insert(K.typed_char(ev.char, ev.cls))
            p.fields["count"] += 1
            p.last, p.last_t = r, ev.t
            return
        if code == K.K_EDIT and same_run:
            assert p is not None and ev.key is not None
            folds = th.fold_home_end or ev.key not in ("Home", "End")
            if folds and p.cursor.edit(EDIT_OPS[ev.key]):
                p.fields["count"] += 1
                p.last, p.last_t = r, ev.t
                return
        name = K.key_name(ev.key, ev.char, ev.cls)
        kind = "hotkey" if code == K.K_HOTKEY else "key"
        keys = K.hotkey_keys(mods, name) if kind == "hotkey" else (name,)
        if (
            p is not None
            and p.what == "key"
            and p.fields["kind"] == kind
            and p.fields["keys"] == keys
            and p.fields["ctx"] == self.ctx
            and ev.t - p.last_t <= _ns(th.key_repeat_s)
        ):
            p.fields["count"] += 1
            p.last, p.last_t = r, ev.t
            return
        self.flush()
        fields = {"kind": kind, "keys": keys, "count": 1, "ctx": self.ctx}
        self.pending = Pending("key", r, r, ev.t, fields)

    def key_up(self, r: int, ev: KeyUp) -> None:
        if ev.key is None or ev.key not in self.held:
            return
        if self.tap is not None and self.tap[0] == ev.key:
            _, onset, ctx = self.tap
            self.tap = None
            self.flush()
            mod = K.MODIFIER_OF_KEY[ev.key]
            self.emit("key", onset, r, True, {"keys": (mod,), "count": 1}, ctx)
        self.held.pop(ev.key, None)

    def flush(self) -> None:
        p, self.pending = self.pending, None
        if p is None:
            return
        f = p.fields
        if p.what == "click":
            fields = {k: f[k] for k in ("button", "x", "y", "mods", "complete", "count")}
            self.emit(K.click_kind(f["button"], f["count"]), p.onset, p.last, False, fields)
        elif p.what == "scroll":
            fields = {k: f[k] for k in ("x", "y", "dx", "dy", "count", "mods")}
            self.emit("scroll", p.onset, p.last, False, fields)
        elif p.what == "type":
            text = {"text": p.cursor.text, "caret": p.cursor.caret, "count": f["count"]}
            self.emit("type", p.onset, p.last, True, text, f["ctx"])
        else:
            fields = {"keys": f["keys"], "count": f["count"]}
            self.emit(f["kind"], p.onset, p.last, True, fields, f["ctx"])

    def emit(
        self,
        kind: str,
        onset: int,
        last: int,
        keyboard: bool,
        fields: dict[str, Any],
        ctx: Ctx | None = None,
    ) -> None:
        # the context in force at the onset row (rows before r are already recorded)
        fields = {**fields, "ctx": ctx if ctx is not None else self.ctx_at_row(onset)}
        self.drafts.append(Draft(kind, onset, last, keyboard, fields))

    def ctx_at_row(self, r: int) -> Ctx:
        return self.ctx_at[r] if r < len(self.ctx_at) else self.ctx


def _ranges(m: _Machine, th: Thresholds) -> list[tuple[Draft, int, int]]:
    """Rule 5: each draft's row range, plus ``move_to`` drafts for hovers outside them."""
    ev = m.ev

    def is_ku(r: int) -> bool:
        return isinstance(ev[r], KeyUp)

    def neutral_key(r: int) -> bool:
        e = ev[r]
        if isinstance(e, KeyUp):
            return True
        return isinstance(e, KeyDown) and K.classify_key(e.key, e.char, e.cls, frozenset()) == 0

    out: list[tuple[Draft, int, int]] = []

    def hover(a: int, b: int, next_onset: int | None, seg_start: int) -> None:
        moves = [r for r in range(a, b + 1) if isinstance(ev[r], MouseMove)]
        if not moves:
            return
        f, last = moves[0], moves[-1]
        mf, ml = ev[f], ev[last]
        assert isinstance(mf, MouseMove) and isinstance(ml, MouseMove)
        before = m.pos_after[f - 1] if f - 1 >= seg_start else None
        bx, by = before if before is not None else (mf.x, mf.y)
        if _d2(ml.x, ml.y, bx, by) < th.move_px**2:
            return
        if next_onset is not None and ev[next_onset].t - ml.t < _ns(th.hover_dwell_s):
            return
        fields = {"x": ml.x, "y": ml.y, "ctx": m.ctx_at[f]}
        out.append((Draft("move_to", f, last, False, fields), f, last))

    for seg_start, seg_end in m.segments:
        drafts = sorted(
            (d for d in m.drafts if seg_start <= d.onset < seg_end), key=lambda d: d.onset
        )
        prev_e = seg_start - 1
        for i, d in enumerate(drafts):
            limit = drafts[i + 1].onset if i + 1 < len(drafts) else seg_end
            e = d.last
            if d.keyboard:
                while e + 1 < limit and is_ku(e + 1):
                    e += 1
            if d.keyboard:
                s = d.onset
                while s - 1 > prev_e and neutral_key(s - 1):
                    s -= 1
                hover(prev_e + 1, s - 1, d.onset, seg_start)
            else:
                s = prev_e + 1
            out.append((d, s, e))
            prev_e = e
        hover(prev_e + 1, seg_end - 1, None, seg_start)
    out.sort(key=lambda item: item[1])
    return out


def reduce_events_reference(
    events: Sequence[Event], thresholds: Thresholds = DEFAULT_THRESHOLDS
) -> list[Action]:
    """Raw events (in recording order) → actions, one Python step per event."""
    machine = _Machine(events, thresholds)
    machine.run()
    actions: list[Action] = []
    for d, s, e in _ranges(machine, thresholds):
        f = dict(d.fields)
        app, title, window = f.pop("ctx")
        sw, sh = machine.screen_at[d.onset]
        path = [] if d.keyboard else [p for p in events[s : e + 1] if isinstance(p, MouseMove)]
        for name, size in (("x", sw), ("y", sh), ("x2", sw), ("y2", sh)):
            f["n" + name] = normalised(f.get(name), size)
        action = Action(
            session=events[d.onset].session,
            kind=d.kind,  # type: ignore[arg-type]
            t_start=events[d.onset].t,
            t_end=events[e].t,
            seq_first=events[s].seq,
            seq_last=events[e].seq,
            n_events=e - s + 1,
            path_x=tuple(p.x for p in path),
            path_y=tuple(p.y for p in path),
            path_t=tuple(p.t for p in path),
            app=app,
            title=title,
            window=window,
            screen_w=sw,
            screen_h=sh,
            **f,
        )
        actions.append(action)
    return attach_web_reference(actions, events, thresholds.web_join_s)


def reduce_actions_reference(
    table: pa.Table, thresholds: Thresholds = DEFAULT_THRESHOLDS
) -> pa.Table:
    """The reference reducer on an events table (``EVENT_SCHEMA``) → an actions table."""
    return actions_to_table(reduce_events_reference(table_to_events(table), thresholds))
