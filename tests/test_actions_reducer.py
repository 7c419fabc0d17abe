"""The reduction rules one by one, at and around their thresholds, through both reducers."""

from __future__ import annotations

from typing import Any

import msgspec
import pyarrow as pa
import pytest

from workprint.builders.actions import (
    Action,
    EpisodeConfig,
    Thresholds,
    label_actions,
    reduce_actions,
    reduce_actions_reference,
    split_episodes,
    table_to_actions,
)
from workprint.builders.executor import InProcessExecutor
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
    WindowFocus,
)
from workprint.events.columnar import events_to_table

MS = 1_000_000
CHAR_CLASS = {" ": "space", ",": "punctuation", "!": "punctuation"}
NAMED = {" ": "space", ",": "comma", "!": "exclam"}
MOD_KEYS = {"shift": "Shift_L", "ctrl": "Control_L", "alt": "Alt_L", "meta": "Super_L"}


class S:
    """A tiny script of raw events: each call advances time by ``dt`` ms (default 50)."""

    def __init__(self, width: int = 1000, height: int = 500) -> None:
        self.t = 1_700_000_000 * 10**9
        self.x = self.y = 0
        self.events: list[Event] = [
            SessionStart(t=self.t, session="s", device="d", screen_w=width, screen_h=height)
        ]
        self.held: list[str] = []

    def at(self, dt: int) -> int:
        self.t += dt * MS
        return self.t

    def add(self, event: Event) -> S:
        self.events.append(msgspec.structs.replace(event, seq=len(self.events)))
        return self

    def move(self, x: int, y: int, dt: int = 50) -> S:
        self.x, self.y = x, y
        return self.add(MouseMove(t=self.at(dt), session="s", x=x, y=y))

    def down(self, button: int = 1, dt: int = 50) -> S:
        return self.add(MouseDown(t=self.at(dt), session="s", x=self.x, y=self.y, button=button))

    def up(self, button: int = 1, dt: int = 80) -> S:
        return self.add(MouseUp(t=self.at(dt), session="s", x=self.x, y=self.y, button=button))

    def click(self, button: int = 1, dt: int = 50) -> S:
        return self.down(button, dt).up(button)

    def scroll(self, dy: int = -1, dx: int = 0, dt: int = 50) -> S:
        return self.add(Scroll(t=self.at(dt), session="s", x=self.x, y=self.y, dx=dx, dy=dy))

    def mods(self) -> tuple[Any, ...]:
        return tuple(m for m in ("shift", "ctrl", "alt", "meta") if m in self.held)

    def press(self, key: str, dt: int = 50, *, release: bool = True) -> S:
        """A key by X keysym name, or a one-character string for a printable key."""
        if key in MOD_KEYS:
            self.held.append(key)
            fields: dict[str, Any] = {"cls": "modifier", "key": MOD_KEYS[key]}
        elif len(key) == 1:
            shifted = key.isupper() or key == "!"
            fields = {
                "cls": CHAR_CLASS.get(key, "letter"),
                "key": NAMED.get(key, key),
                "char": key,
            }
            if shifted and "shift" not in self.held:
                self.press("shift", dt=0, release=False)
                self.add(KeyDown(t=self.at(dt), session="s", mods=self.mods(), **fields))
                self.add(KeyUp(t=self.at(10), session="s", mods=self.mods(), **fields))
                return self.release("shift", dt=5)
        else:
            cls = "navigation" if key in ("Left", "Right", "Home", "End", "Tab") else "editing"
            fields = {
                "cls": "function" if key.startswith("F") or key == "Escape" else cls,
                "key": key,
            }
        self.add(KeyDown(t=self.at(dt), session="s", mods=self.mods(), **fields))
        if release and key not in MOD_KEYS:
            self.add(KeyUp(t=self.at(10), session="s", mods=self.mods(), **fields))
        return self

    def release(self, mod: str, dt: int = 20) -> S:
        up = KeyUp(t=self.at(dt), session="s", cls="modifier", key=MOD_KEYS[mod], mods=self.mods())
        self.held.remove(mod)
        return self.add(up)

    def type(self, text: str, dt: int = 60) -> S:
        for ch in text:
            self.press(ch, dt)
        return self

    def focus(self, app: str, dt: int = 10) -> S:
        return self.add(WindowFocus(t=self.at(dt), session="s", app=app, title=app, window=7))

    def actions(self, th: Thresholds | None = None) -> list[Action]:
        table = events_to_table(self.events)
        fast = reduce_actions(table, th or Thresholds())
        assert fast.equals(reduce_actions_reference(table, th or Thresholds()))
        return table_to_actions(fast)


def kinds(actions: list[Action]) -> list[str]:
    return [a.kind for a in actions]


# -- clicks ------------------------------------------------------------------------------------


def test_click_double_triple_and_a_fourth_click_starts_over() -> None:
    s = S().move(100, 100).click().click(dt=100).click(dt=100).click(dt=100)
    acts = s.actions()
    assert kinds(acts) == ["triple_click", "click"]
    assert acts[0].count == 3 and (acts[0].x, acts[0].y) == (100, 100)
    assert (acts[0].nx, acts[0].ny) == (0.1, 0.2)


@pytest.mark.parametrize(
    ("gap_ms", "dx", "expected"),
    [
        (420, 0, ["double_click"]),  # press to press 500 ms: inside the interval
        (421, 0, ["click", "click"]),  # 501 ms
        (100, 5, ["double_click"]),  # 5 px: inside the distance
        (100, 6, ["click", "click"]),
    ],
)
def test_double_click_interval_and_distance(gap_ms: int, dx: int, expected: list[str]) -> None:
    s = S().move(100, 100).click()
    s.x += dx
    s.down(dt=gap_ms).up()
    assert kinds(s.actions()) == expected


def test_right_middle_and_side_buttons() -> None:
    s = S().move(10, 10).click(3).move(200, 10).click(2).move(400, 10).click(8)
    acts = s.actions()
    assert [(a.kind, a.button) for a in acts] == [
        ("right_click", "right"),
        ("middle_click", "middle"),
        ("click", "back"),
    ]


def test_hover_before_a_click_is_its_approach_path_not_an_action() -> None:
    s = S().move(10, 10).move(300, 200, dt=2000).move(305, 202, dt=3000).click()
    (click,) = s.actions()
    assert click.kind == "click"
    assert list(zip(click.path_x, click.path_y, strict=True)) == [(10, 10), (300, 200), (305, 202)]
    assert click.seq_first == 1 and click.t_start == s.events[4].t


def test_modifiers_held_during_a_click_are_part_of_it() -> None:
    s = S().move(50, 50).press("ctrl").click().click(dt=100).release("ctrl")
    (click,) = s.actions()
    assert (click.kind, click.mods) == ("double_click", ("ctrl",))
    assert S().move(50, 50).press("shift").click().release("shift").click(dt=100).actions()[
        0
    ].mods == ("shift",)


# -- drags and long presses --------------------------------------------------------------------


def test_drag_threshold_and_path() -> None:
    near = S().move(100, 100).down().move(107, 100).move(100, 100).up()
    assert kinds(near.actions()) == ["click"]  # 7 px away at most
    far = S().move(100, 100).down().move(108, 100).move(101, 100).up()
    (drag,) = far.actions()
    assert (drag.kind, drag.x, drag.y, drag.x2, drag.y2) == ("drag", 100, 100, 101, 100)
    assert drag.path_x[-2:] == (108, 101)
    assert kinds(far.actions(Thresholds(drag_px=9))) == ["click"]


def test_long_press() -> None:
    s = S().move(10, 10).down().up(dt=1000)
    assert kinds(s.actions()) == ["long_press"]
    assert kinds(S().move(10, 10).down().up(dt=999).actions()) == ["click"]
    # a long press never joins a double click
    assert kinds(S().move(10, 10).click().down(dt=100).up(dt=1200).actions()) == [
        "click",
        "long_press",
    ]


# -- scrolling ---------------------------------------------------------------------------------


def test_scrolls_merge_by_direction_gap_distance_and_modifiers() -> None:
    s = S().move(10, 10).scroll(-1).scroll(-1).scroll(-2, dt=1000).scroll(1).scroll(0, dx=1)
    acts = s.actions()
    assert [(a.kind, a.dy, a.dx, a.count) for a in acts] == [
        ("scroll", -4, 0, 3),
        ("scroll", 1, 0, 1),
        ("scroll", 0, 1, 1),
    ]
    split = S().move(10, 10).scroll().scroll(dt=1001).move(100, 10).scroll().actions()
    assert [a.dy for a in split] == [-1, -1, -1]
    zoom = S().move(10, 10).scroll().press("ctrl").scroll().scroll().release("ctrl").actions()
    assert [(a.dy, a.mods) for a in zoom] == [(-1, ()), (-2, ("ctrl",))]


# -- keyboard ----------------------------------------------------------------------------------


def test_typing_folds_corrections_and_keeps_the_caret() -> None:
    s = S().type("Helo").press("Left").type("l").press("End").type(" you").press("BackSpace")
    s.press("Home").type(">")
    (typed,) = s.actions()
    assert (typed.kind, typed.text, typed.caret) == ("type", ">Hello yo", 1)
    exact = S().type("ab").press("End").type("c").actions(Thresholds(fold_home_end=False))
    assert [(a.kind, a.text or a.keys) for a in exact] == [
        ("type", "ab"),
        ("key", ("end",)),
        ("type", "c"),
    ]


def test_an_edit_outside_the_typed_text_ends_the_action_and_stays_a_key() -> None:
    s = S().press("BackSpace").press("BackSpace").type("ab").press("Left").press("Left")
    s.press("Left").type("x").press("Delete", dt=50)
    acts = s.actions()
    assert [(a.kind, a.text or a.keys, a.count) for a in acts] == [
        ("key", ("backspace",), 2),
        ("type", "ab", 4),
        ("key", ("left",), 1),
        ("type", "x", 1),
        ("key", ("delete",), 1),
    ]


def test_typing_ends_at_a_pause_a_focus_change_enter_and_tab() -> None:
    s = S().focus("A").type("ab").type("c", dt=3001).focus("B").type("d").press("Return")
    s.type("e").press("Tab").type("f")
    acts = s.actions()
    assert [(a.kind, a.text or a.keys, a.app) for a in acts] == [
        ("type", "ab", "A"),
        ("type", "c", "A"),
        ("type", "d", "B"),
        ("key", ("enter",), "B"),
        ("type", "e", "B"),
        ("key", ("tab",), "B"),
        ("type", "f", "B"),
    ]


def test_hotkeys_are_normalised_and_repeats_merge() -> None:
    s = S().press("shift").press("alt").press("ctrl").press("t").release("ctrl")
    s.release("alt").release("shift")
    s.press("ctrl").press("z").press("z").press("z", dt=1001).release("ctrl")
    s.press("shift").press("Left").release("shift")
    acts = s.actions()
    assert [(a.kind, a.keys, a.count) for a in acts] == [
        ("hotkey", ("ctrl", "alt", "shift", "t"), 1),
        ("hotkey", ("ctrl", "z"), 2),
        ("hotkey", ("ctrl", "z"), 1),
        ("hotkey", ("shift", "left"), 1),
    ]


def test_keys_and_modifier_taps() -> None:
    s = S().press("Escape").press("F5").press("F5").press("meta").release("meta")
    s.press("shift").release("shift").press("alt").release("alt")
    s.press("meta").press("e").release("meta")
    acts = s.actions()
    assert [(a.kind, a.keys, a.count) for a in acts] == [
        ("key", ("esc",), 1),
        ("key", ("f5",), 2),
        ("key", ("meta",), 1),  # Super alone opens the launcher
        ("key", ("alt",), 1),  # a lone Shift does nothing and is absorbed
        ("hotkey", ("meta", "e"), 1),
    ]


def test_without_the_text_scope_characters_are_placeholders() -> None:
    s = S()
    for cls in ("letter", "letter", "space", "digit"):
        s.add(KeyDown(t=s.at(50), session="s", cls=cls))  # type: ignore[arg-type]
        s.add(KeyUp(t=s.at(10), session="s", cls=cls))  # type: ignore[arg-type]
    (typed,) = s.actions()
    assert typed.text == "\ufffd\ufffd \ufffd"


# -- ranges, boundaries, hovers -----------------------------------------------------------------


def test_ranges_cover_every_event_once_and_keyboard_actions_take_their_releases() -> None:
    s = S().move(10, 10).click().type("ab").press("ctrl").press("s").release("ctrl")
    acts = s.actions()
    assert [(a.seq_first, a.seq_last) for a in acts] == [(1, 3), (4, 7), (8, 11)]
    assert acts[1].t_start == s.events[4].t and acts[1].t_end == s.events[7].t


def test_nothing_spans_a_pause_or_gap_and_cut_gestures_are_incomplete() -> None:
    s = S().move(10, 10).down().move(50, 10)
    s.add(Pause(t=s.at(10), session="s"))
    s.add(Resume(t=s.at(5000), session="s"))
    s.move(60, 10).up().type("a")
    s.add(Gap(t=s.at(10), session="s", reason="excluded"))
    s.type("b")
    acts = s.actions()
    assert [(a.kind, a.complete, a.text) for a in acts] == [
        ("drag", False, None),
        ("type", True, "a"),
        ("type", True, "b"),
    ]
    pause_seq = 4
    assert all(not (a.seq_first <= pause_seq <= a.seq_last) for a in acts)
    assert (acts[0].x2, acts[0].y2, acts[0].seq_last) == (50, 10, 3)


def test_a_hover_that_rests_becomes_a_move_to() -> None:
    s = S().move(10, 10).click().move(400, 300, dt=100).type("a", dt=1500)
    assert kinds(s.actions()) == ["click", "move_to", "type"]
    move = s.actions()[1]
    assert (move.x, move.y, move.nx, move.ny) == (400, 300, 0.4, 0.6)
    short_rest = S().move(10, 10).click().move(400, 300).type("a", dt=500)
    assert kinds(short_rest.actions()) == ["click", "type"]
    small = S().move(10, 10).click().move(25, 10).type("a", dt=1500)
    assert kinds(small.actions()) == ["click", "type"]
    trailing = S().move(10, 10).click().move(400, 300)
    assert kinds(trailing.actions()) == ["click", "move_to"]


def test_unknown_screen_size_gives_null_normalised_coordinates() -> None:
    s = S()
    s.events = []  # no session start: the screen size is unknown
    s.move(5, 5).click()
    (click,) = s.actions()
    assert (click.x, click.nx, click.screen_w) == (5, None, None)


def test_thresholds_are_validated() -> None:
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert({"drag_px": -1}, Thresholds)
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert({"drag_distance": 3}, Thresholds)
    assert Thresholds().as_dict()["double_click_s"] == 0.5


def test_executor_maps_the_reducer_over_session_tables_lazily() -> None:
    a = events_to_table(S().move(1, 1).click().events)
    b = events_to_table(S().type("hi").events)
    seen: list[int] = []

    def tables() -> Any:
        for t in (a, b):
            seen.append(t.num_rows)
            yield t

    out = InProcessExecutor().map_batches(reduce_actions, tables())
    assert seen == []  # nothing runs before the results are asked for
    results = list(out)
    assert [r.num_rows for r in results] == [1, 1] and seen == [a.num_rows, b.num_rows]
    assert isinstance(results[0], pa.Table)


# -- episodes ----------------------------------------------------------------------------------


def test_episodes_split_at_idle_pauses_and_optionally_app_switches() -> None:
    s = S().focus("A").move(10, 10).click().type("x", dt=121_000).focus("B").type("y")
    s.add(Pause(t=s.at(10), session="s"))
    s.add(Resume(t=s.at(10), session="s"))
    s.type("z")
    table = events_to_table(s.events)
    episodes = split_episodes(table)
    assert episodes.column("starts_after").to_pylist() == ["session_start", "idle", "resume"]
    assert episodes.column("n_input_events").to_pylist() == [3, 4, 2]
    by_app = split_episodes(table, EpisodeConfig(split_on_app_switch=True))
    assert by_app.column("starts_after").to_pylist() == [
        "session_start",
        "idle",
        "app_switch",
        "resume",
    ]
    long_idle = split_episodes(table, EpisodeConfig(session_idle_s=100))
    assert long_idle.column("starts_after").to_pylist() == [
        "session_start",
        "session_idle",
        "resume",
    ]
    assert len(set(long_idle.column("work_session").to_pylist())) == 3
    labelled = label_actions(reduce_actions(table), episodes)
    assert labelled.column("episode").to_pylist() == (
        episodes.column("episode").take([0, 1, 1, 2]).to_pylist()
    )
