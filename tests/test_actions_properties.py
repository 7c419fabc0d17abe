"""Property tests for the action reducer and its cursor models.

Random raw streams (pointer gestures, wheel, keys with modifiers, focus changes, pauses, gaps,
session changes; times and distances drawn around every threshold) must give: the fast reducer
exactly the reference's output; ranges that are disjoint, ordered and inside the raw stream;
no press, notch or key press lost. Random edit scripts must rebuild the text a plain string
model holds, through both cursor models and through the reducers.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workprint.builders.actions import (
    EpisodeConfig,
    Thresholds,
    reduce_actions,
    reduce_actions_reference,
    split_episodes,
    table_to_actions,
)
from workprint.builders.actions.typing import GapCursor, ReferenceCursor
from workprint.events import (
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
from workprint.events.columnar import events_to_table

MS = 1_000_000
# Key vocabulary: (keysym, char, class, modifier it holds)
KEYS: list[tuple[str, str | None, str, str | None]] = [
    ("a", "a", "letter", None),
    ("b", "b", "letter", None),
    ("space", " ", "space", None),
    ("comma", ",", "punctuation", None),
    ("BackSpace", None, "editing", None),
    ("Delete", None, "editing", None),
    ("Left", None, "navigation", None),
    ("Right", None, "navigation", None),
    ("Home", None, "navigation", None),
    ("End", None, "navigation", None),
    ("Return", "\n", "editing", None),
    ("Tab", "\t", "navigation", None),
    ("Escape", None, "function", None),
    ("F5", None, "function", None),
    ("Shift_L", None, "modifier", "shift"),
    ("Control_L", None, "modifier", "ctrl"),
    ("Alt_L", None, "modifier", "alt"),
    ("Super_L", None, "modifier", "meta"),
    ("Caps_Lock", None, "modifier", None),
]
# times drawn around the thresholds (ms): 0, tiny, double-click, scroll gap, long press…
DT_MS = st.sampled_from([0, 1, 5, 40, 120, 499, 500, 501, 999, 1000, 1001, 2999, 3000, 3001])
COORD = st.integers(0, 40)


@st.composite
def streams(draw: st.DrawFn, max_ops: int = 40) -> list[Event]:
    """A plausible raw stream: whole gestures (clicks, multi-clicks, drags, typing, hotkeys,
    taps, scrolls) mixed with single raw events that leave keys and buttons dangling, as real
    data does (releases without presses, presses cut by a pause)."""
    s = _Stream(draw)
    if draw(st.booleans()):
        s.add(SessionStart(t=s.t, session=s.session, device="d", screen_w=40, screen_h=30))
    for _ in range(draw(st.integers(0, max_ops))):
        op = draw(
            st.sampled_from(
                [
                    *("move", "move", "click", "click", "drag", "type", "hotkey", "tap"),
                    *("scrolls", "down", "up", "scroll", "kd", "ku", "focus", "other"),
                ]
            )
        )
        getattr(s, op)()
    return [_with_seq(e, i) for i, e in enumerate(s.events)]


class _Stream:
    def __init__(self, draw: st.DrawFn) -> None:
        self.draw = draw
        self.session = "s1"
        self.t = 10**18
        self.x, self.y = 10, 10
        self.held_keys: list[int] = []
        self.held_buttons: list[int] = []
        self.events: list[Event] = []

    def add(self, event: Event) -> None:
        self.events.append(event)

    def tick(self) -> int:
        self.t += self.draw(DT_MS) * MS
        return self.t

    def move(self) -> None:
        self.x, self.y = self.draw(COORD), self.draw(COORD)
        self.add(MouseMove(t=self.tick(), session=self.session, x=self.x, y=self.y))

    def jitter(self) -> None:
        d = self.draw(st.sampled_from([0, 0, 1, 3, 6, 9]))
        self.x, self.y = self.x + d, self.y + self.draw(st.sampled_from([0, d]))
        self.add(MouseMove(t=self.tick(), session=self.session, x=self.x, y=self.y))

    def down(self, button: int | None = None) -> None:
        b = button or self.draw(st.sampled_from([1, 1, 1, 2, 3, 8]))
        self.held_buttons.append(b)
        self.add(MouseDown(t=self.tick(), session=self.session, x=self.x, y=self.y, button=b))

    def up(self, button: int | None = None) -> None:
        if button is None:
            draw = self.draw
            button = (
                self.held_buttons[0]
                if self.held_buttons and draw(st.booleans())
                else draw(st.sampled_from([1, 3]))
            )
        if button in self.held_buttons:
            self.held_buttons.remove(button)
        self.add(MouseUp(t=self.tick(), session=self.session, x=self.x, y=self.y, button=button))

    def click(self) -> None:
        button = self.draw(st.sampled_from([1, 1, 1, 2, 3]))
        for _ in range(self.draw(st.integers(1, 4))):
            if self.draw(st.booleans()):
                self.jitter()
            self.down(button)
            self.up(button)

    def drag(self) -> None:
        self.down(1)
        for _ in range(self.draw(st.integers(0, 4))):
            self.jitter()
        self.up(1)

    def scroll(self) -> None:
        dx, dy = self.draw(st.sampled_from([(0, 1), (0, -1), (0, -2), (1, 0), (-1, 0), (0, 0)]))
        self.add(Scroll(t=self.tick(), session=self.session, x=self.x, y=self.y, dx=dx, dy=dy))

    def scrolls(self) -> None:
        for _ in range(self.draw(st.integers(1, 5))):
            if self.draw(st.booleans()):
                self.jitter()
            self.scroll()

    def kd(self, k: int | None = None) -> None:
        k = self.draw(st.integers(0, len(KEYS) - 1)) if k is None else k
        self.held_keys.append(k)
        text = self.draw(st.booleans())
        self.add(_key(KeyDown, self.tick(), self.session, k, self.held_keys, text))

    def ku(self, k: int | None = None) -> None:
        if k is None:
            k = self.held_keys[0] if self.held_keys else self.draw(st.integers(0, len(KEYS) - 1))
        if k in self.held_keys:
            self.held_keys.remove(k)
        text = self.draw(st.booleans())
        self.add(_key(KeyUp, self.tick(), self.session, k, self.held_keys, text))

    def type(self) -> None:
        for _ in range(self.draw(st.integers(1, 8))):
            k = self.draw(st.sampled_from([0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 14]))
            self.kd(k)
            if self.draw(st.booleans()):
                self.ku(k)

    def hotkey(self) -> None:
        mod = self.draw(st.sampled_from([14, 15, 16, 17]))
        key = self.draw(st.sampled_from([0, 6, 10, 11, 13]))
        self.kd(mod)
        for _ in range(self.draw(st.integers(1, 2))):
            self.kd(key)
            self.ku(key)
        self.ku(mod)

    def tap(self) -> None:
        mod = self.draw(st.sampled_from([16, 17, 14]))
        self.kd(mod)
        self.ku(mod)

    def focus(self) -> None:
        app = self.draw(st.sampled_from(["A", "B"]))
        self.add(WindowFocus(t=self.tick(), session=self.session, app=app, title=app, window=1))

    def other(self) -> None:
        kind = self.draw(st.sampled_from(["pause", "resume", "gap", "stop", "start", "session"]))
        if kind == "session":
            self.session = "s2" if self.session == "s1" else "s1"
            self.held_keys.clear()
            return
        self.add(_boundary(kind, self.tick(), self.session))
        if kind in ("start", "stop"):
            self.held_keys.clear()


def _key(cls: Any, t: int, session: str, k: int, held: list[int], text: bool) -> Event:
    key, char, kcls, _ = KEYS[k]
    mods = tuple(m for m in ("shift", "ctrl", "alt", "meta") if any(KEYS[h][3] == m for h in held))
    if not text and kcls in ("letter", "space", "punctuation"):  # text-content scope off
        return cls(t=t, session=session, cls=kcls, mods=mods)
    return cls(t=t, session=session, cls=kcls, key=key, char=char, mods=mods)


def _boundary(kind: str, t: int, session: str) -> Event:
    if kind == "pause":
        return Pause(t=t, session=session)
    if kind == "resume":
        return Resume(t=t, session=session)
    if kind == "gap":
        return Gap(t=t, session=session, reason="excluded")
    if kind == "stop":
        return SessionStop(t=t, session=session)
    return SessionStart(t=t, session=session, device="d", screen_w=40, screen_h=30)


def _with_seq(event: Event, seq: int) -> Event:
    import msgspec

    return msgspec.structs.replace(event, seq=seq)


THRESHOLDS = st.builds(
    Thresholds,
    double_click_s=st.sampled_from([0.5, 0.12]),
    drag_px=st.sampled_from([8.0, 3.0]),
    scroll_px=st.sampled_from([50.0, 5.0]),
    fold_home_end=st.booleans(),
    hover_dwell_s=st.sampled_from([1.0, 0.0]),
    move_px=st.sampled_from([20.0, 0.0]),
)
PROPS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPS
@given(streams(), THRESHOLDS)
def test_fast_reducer_equals_the_reference(events: list[Event], th: Thresholds) -> None:
    table = events_to_table(events)
    fast = reduce_actions(table, th)
    ref = reduce_actions_reference(table, th)
    assert fast.schema == ref.schema
    assert fast.to_pylist() == ref.to_pylist()
    assert fast.equals(ref)


@PROPS
@given(streams(), THRESHOLDS)
def test_no_event_lost_or_used_twice_and_ranges_never_overlap(
    events: list[Event], th: Thresholds
) -> None:
    actions = table_to_actions(reduce_actions(events_to_table(events), th))
    times = {e.seq: e.t for e in events}
    previous_last = -1
    previous_end = None
    for a in actions:
        assert previous_last < a.seq_first <= a.seq_last, "ranges are disjoint and ordered"
        assert a.n_events == a.seq_last - a.seq_first + 1
        assert times[a.seq_first] <= a.t_start <= a.t_end == times[a.seq_last]
        if previous_end is not None:
            assert previous_end <= a.t_start, "time ranges never overlap"
        previous_last, previous_end = a.seq_last, a.t_end
    covered = [False] * len(events)
    for a in actions:
        for seq in range(a.seq_first, a.seq_last + 1):
            covered[seq] = True
    for e in events:
        must = isinstance(e, MouseDown | Scroll) or (isinstance(e, KeyDown) and e.cls != "modifier")
        if must:
            assert covered[e.seq], f"{e} is in no action"
        if isinstance(e, Pause | Resume | Gap | SessionStart | SessionStop):
            assert not covered[e.seq], "no action spans a boundary"


# -- cursor model ------------------------------------------------------------------------------

EDITS = st.lists(
    st.one_of(
        st.sampled_from(["a", "b", "é", " ", "Z"]).map(lambda c: ("char", c)),
        st.sampled_from(["backspace", "delete", "left", "right", "home", "end"]).map(
            lambda op: ("edit", op)
        ),
    ),
    max_size=80,
)


def string_model(script: list[tuple[str, str]]) -> tuple[str, int, list[bool]]:
    """The plain-string oracle: text, caret, and whether each edit stayed inside the text."""
    text, caret, inside = "", 0, []
    for kind, value in script:
        if kind == "char":
            text, caret = text[:caret] + value + text[caret:], caret + 1
            inside.append(True)
            continue
        ok = {
            "backspace": caret > 0,
            "delete": caret < len(text),
            "left": caret > 0,
            "right": caret < len(text),
            "home": True,
            "end": True,
        }[value]
        inside.append(ok)
        if not ok:
            continue
        if value == "backspace":
            text, caret = text[: caret - 1] + text[caret:], caret - 1
        elif value == "delete":
            text = text[:caret] + text[caret + 1 :]
        elif value == "left":
            caret -= 1
        elif value == "right":
            caret += 1
        elif value == "home":
            caret = 0
        else:
            caret = len(text)
    return text, caret, inside


@settings(max_examples=500, deadline=None)
@given(EDITS)
def test_cursor_models_rebuild_the_string_models_text(script: list[tuple[str, str]]) -> None:
    text, caret, inside = string_model(script)
    for cursor in (ReferenceCursor(), GapCursor()):
        results = []
        for kind, value in script:
            if kind == "char":
                cursor.insert(value)
                results.append(True)
            else:
                results.append(cursor.edit(value))
        assert (cursor.text, cursor.caret, results) == (text, caret, inside)


_EDIT_KEYS = {
    "backspace": "BackSpace",
    "delete": "Delete",
    "left": "Left",
    "right": "Right",
    "home": "Home",
    "end": "End",
}


@settings(max_examples=300, deadline=None)
@given(EDITS.filter(lambda s: s and s[0][0] == "char"))
def test_typing_with_corrections_gives_the_models_text(script: list[tuple[str, str]]) -> None:
    """Keystrokes of an edit script that never leaves its own text → one ``type`` action whose
    text and caret are the string model's, in both reducers."""
    text, caret, inside = string_model(script)
    if not all(inside):
        script = script[: inside.index(False)]
        text, caret, _ = string_model(script)
    events: list[Event] = []
    t = 10**18
    for kind, value in script:
        key = _EDIT_KEYS.get(value, value) if kind == "edit" else value
        char = value if kind == "char" else None
        cls = "letter" if kind == "char" else "editing"
        mods = ("shift",) if value == "Z" else ()
        for ev in (KeyDown, KeyUp):
            t += 20 * MS
            events.append(ev(t=t, session="s", cls=cls, key=key, char=char, mods=mods))
    events = [_with_seq(e, i) for i, e in enumerate(events)]
    table = events_to_table(events)
    for reduce in (reduce_actions, reduce_actions_reference):
        actions = table_to_actions(reduce(table))
        assert [(a.kind, a.text, a.caret) for a in actions] == [("type", text, caret)]
        assert actions[0].count == len(script)
        assert (actions[0].seq_first, actions[0].seq_last) == (0, len(events) - 1)


def test_empty_stream_gives_an_empty_table() -> None:
    empty = events_to_table([])
    assert reduce_actions(empty).num_rows == 0
    assert reduce_actions_reference(empty).num_rows == 0
    assert reduce_actions(empty).schema == reduce_actions_reference(empty).schema
    assert isinstance(reduce_actions(empty), pa.Table)


@PROPS
@given(streams(), st.sampled_from([0.04, 0.5, 120.0]), st.booleans())
def test_episodes_never_span_a_pause_gap_or_session_and_hold_input(
    events: list[Event], idle_s: float, by_app: bool
) -> None:
    config = EpisodeConfig(
        episode_idle_s=idle_s, session_idle_s=idle_s * 2, split_on_app_switch=by_app
    )
    episodes = split_episodes(events_to_table(events), config).to_pylist()
    by_seq = {e.seq: e for e in events}
    previous = -1
    for ep in episodes:
        assert previous < ep["seq_first"] <= ep["seq_last"]
        inside = [by_seq[s] for s in range(ep["seq_first"], ep["seq_last"] + 1)]
        assert not [
            e for e in inside if isinstance(e, Pause | Resume | Gap | SessionStart | SessionStop)
        ]
        assert {e.session for e in inside} == {ep["session"]}
        assert ep["n_input_events"] >= 1 and ep["n_events"] == len(inside)
        previous = ep["seq_last"]
    inputs = [
        e
        for e in events
        if isinstance(e, MouseMove | MouseDown | MouseUp | Scroll | KeyDown | KeyUp)
    ]
    assert sum(ep["n_input_events"] for ep in episodes) == len(inputs)
