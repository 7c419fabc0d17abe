"""Each export format on every action kind: exact output, valid pyautogui code, pixel rescaling,
and what a format cannot express."""

from __future__ import annotations

import json
from typing import Any

import pytest

from workprint.builders.actions import Action, actions_to_table
from workprint.export.action_formats import (
    ExportError,
    to_anthropic,
    to_computer13,
    to_openai,
    to_pyautogui,
    with_action_format,
)

T0 = 1_700_000_000 * 10**9


def act(kind: str, **fields: Any) -> Action:
    base: dict[str, Any] = {
        "session": "s",
        "t_start": T0,
        "t_end": T0 + 200_000_000,
        "seq_first": 0,
        "seq_last": 3,
        "n_events": 4,
        "screen_w": 1000,
        "screen_h": 500,
    }
    base.update(fields)
    for a, n, size in (
        ("x", "nx", 1000),
        ("y", "ny", 500),
        ("x2", "nx2", 1000),
        ("y2", "ny2", 500),
    ):
        if base.get(a) is not None and n not in fields:
            base[n] = base[a] / size
    return Action(kind=kind, **base)  # type: ignore[arg-type]


CLICK = act("click", button="left", x=123, y=456)
RIGHT2 = act("right_click", button="right", count=2, x=10, y=20)
TRIPLE = act("triple_click", button="left", count=3, x=10, y=20)
CTRL_CLICK = act("click", button="left", x=500, y=250, mods=("ctrl", "shift"))
BACK = act("click", button="back", x=1, y=1)
DRAG = act(
    "drag",
    button="left",
    x=100,
    y=100,
    x2=300,
    y2=200,
    path_x=(50, 100, 200),
    path_y=(50, 100, 150),
    path_t=(T0 - 10, T0, T0 + 100),
)
LONG = act("long_press", button="left", x=5, y=5, t_end=T0 + 1_500_000_000)
MOVE = act("move_to", x=999, y=499)
SCROLL = act("scroll", x=100, y=50, dx=0, dy=-3, count=3)
HSCROLL = act("scroll", x=100, y=50, dx=2, dy=0, mods=("ctrl",))
TYPE = act("type", text="it's ok", caret=4)
KEY = act("key", keys=("pagedown",), count=3)
META = act("key", keys=("meta",))
HOTKEY = act("hotkey", keys=("ctrl", "shift", "t"))
SUPER_E = act("hotkey", keys=("meta", "!"), count=2)
ALL = [
    CLICK,
    RIGHT2,
    TRIPLE,
    CTRL_CLICK,
    BACK,
    DRAG,
    LONG,
    MOVE,
    SCROLL,
    HSCROLL,
    TYPE,
    KEY,
    META,
    HOTKEY,
    SUPER_E,
]


def test_pyautogui_code_for_every_kind() -> None:
    code = to_pyautogui(ALL, terminate="success")
    assert code == [
        "pyautogui.click(x=0.123, y=0.912)",
        "pyautogui.click(x=0.01, y=0.04, clicks=2, button='right')",
        "pyautogui.tripleClick(x=0.01, y=0.04)",
        "pyautogui.keyDown('ctrl')\npyautogui.keyDown('shift')\npyautogui.click(x=0.5, y=0.5)\n"
        "pyautogui.keyUp('shift')\npyautogui.keyUp('ctrl')",
        "pyautogui.hotkey('alt', 'left')",
        "pyautogui.moveTo(x=0.1, y=0.2)\npyautogui.dragTo(x=0.3, y=0.4, button='left')",
        "pyautogui.moveTo(x=0.005, y=0.01)\npyautogui.mouseDown(button='left')\n"
        "pyautogui.sleep(1.5)\npyautogui.mouseUp(button='left')",
        "pyautogui.moveTo(x=0.999, y=0.998)",
        "pyautogui.moveTo(x=0.1, y=0.1)\npyautogui.scroll(-3)",
        "pyautogui.keyDown('ctrl')\npyautogui.moveTo(x=0.1, y=0.1)\npyautogui.hscroll(2)\n"
        "pyautogui.keyUp('ctrl')",
        "pyautogui.write(message=\"it's ok\")\npyautogui.press('left', presses=3)",
        "pyautogui.press('pagedown', presses=3)",
        "pyautogui.press('win')",
        "pyautogui.hotkey('ctrl', 'shift', 't')",
        "pyautogui.hotkey('win', '!')\npyautogui.hotkey('win', '!')",
        "computer.terminate(status='success')",
    ]
    for snippet in code:
        compile(snippet, "<pyautogui>", "exec")  # every step is valid Python


def test_pyautogui_needs_a_screen_size() -> None:
    blind = act("click", button="left", x=1, y=1, nx=None, ny=None, screen_w=None, screen_h=None)
    with pytest.raises(ExportError, match="no normalised coordinates"):
        to_pyautogui([blind])


def test_osworld_computer_13() -> None:
    out = to_computer13(
        [
            CLICK,
            RIGHT2,
            DRAG,
            act("drag", button="right", x=1, y=2, x2=3, y2=4),
            SCROLL,
            TYPE,
            SUPER_E,
            LONG,
        ]
    )
    c = lambda kind, **p: {"action_type": kind, "parameters": p}  # noqa: E731
    assert out == [
        [c("CLICK", button="left", x=123, y=456, num_clicks=1)],
        [c("CLICK", button="right", x=10, y=20, num_clicks=2)],
        [c("MOVE_TO", x=100, y=100), c("DRAG_TO", x=300, y=200)],
        [
            c("MOVE_TO", x=1, y=2),
            c("MOUSE_DOWN", button="right"),
            c("MOVE_TO", x=3, y=4),
            c("MOUSE_UP", button="right"),
        ],
        [c("MOVE_TO", x=100, y=50), c("SCROLL", dx=0, dy=-3)],
        [
            c("TYPING", text="it's ok"),
            c("PRESS", key="left"),
            c("PRESS", key="left"),
            c("PRESS", key="left"),
        ],
        [c("HOTKEY", keys=["win", "!"]), c("HOTKEY", keys=["win", "!"])],
        [
            c("MOVE_TO", x=5, y=5),
            c("MOUSE_DOWN", button="left"),
            c("WAIT"),
            c("MOUSE_UP", button="left"),
        ],
    ]
    assert to_computer13([CLICK], scale_to=(1920, 1080)) == [
        [c("CLICK", button="left", x=236, y=985, num_clicks=1)]
    ]


def test_openai_computer_use() -> None:
    out = to_openai([CLICK, TRIPLE, CTRL_CLICK, DRAG, SCROLL, HOTKEY, KEY, TYPE, MOVE, LONG])
    assert out[0] == [{"type": "click", "button": "left", "x": 123, "y": 456}]
    assert out[1] == [
        {"type": "double_click", "x": 10, "y": 20},
        {"type": "click", "button": "left", "x": 10, "y": 20},
    ]
    assert out[2] == [
        {"type": "click", "button": "left", "x": 500, "y": 250, "keys": ["CTRL", "SHIFT"]}
    ]
    # the drag path: the press, the moves after it (not the approach), the release
    assert out[3] == [
        {"type": "drag", "path": [{"x": 100, "y": 100}, {"x": 200, "y": 150}, {"x": 300, "y": 200}]}
    ]
    assert out[4] == [{"type": "scroll", "x": 100, "y": 50, "scroll_x": 0, "scroll_y": 300}]
    assert out[5] == [{"type": "keypress", "keys": ["CTRL", "SHIFT", "t"]}]
    assert out[6] == [{"type": "keypress", "keys": ["PAGEDOWN"]}] * 3
    assert (
        out[7]
        == [{"type": "type", "text": "it's ok"}] + [{"type": "keypress", "keys": ["ARROWLEFT"]}] * 3
    )
    assert out[8] == [{"type": "move", "x": 999, "y": 499}]
    assert out[9] == []  # a long press has no OpenAI action
    scaled = to_openai([DRAG], scale_to=(500, 250))[0][0]["path"]
    assert scaled == [{"x": 50, "y": 50}, {"x": 100, "y": 75}, {"x": 150, "y": 100}]


def test_anthropic_computer_tool() -> None:
    out = to_anthropic(
        [CLICK, RIGHT2, CTRL_CLICK, DRAG, LONG, SCROLL, HSCROLL, HOTKEY, META, TYPE, BACK]
    )
    assert out == [
        [{"action": "left_click", "coordinate": [123, 456]}],
        [{"action": "right_click", "coordinate": [10, 20]}] * 2,
        [{"action": "left_click", "coordinate": [500, 250], "text": "ctrl+shift"}],
        [{"action": "left_click_drag", "start_coordinate": [100, 100], "coordinate": [300, 200]}],
        [
            {"action": "mouse_move", "coordinate": [5, 5]},
            {"action": "left_mouse_down"},
            {"action": "wait", "duration": 1.5},
            {"action": "left_mouse_up"},
        ],
        [
            {
                "action": "scroll",
                "coordinate": [100, 50],
                "scroll_direction": "down",
                "scroll_amount": 3,
            }
        ],
        [
            {
                "action": "scroll",
                "coordinate": [100, 50],
                "text": "ctrl",
                "scroll_direction": "right",
                "scroll_amount": 2,
            }
        ],
        [{"action": "key", "text": "ctrl+shift+t"}],
        [{"action": "key", "text": "super"}],
        [{"action": "type", "text": "it's ok"}] + [{"action": "key", "text": "Left"}] * 3,
        [{"action": "key", "text": "alt+Left"}],
    ]
    keys = to_anthropic(
        [
            act("key", keys=("enter",)),
            act("hotkey", keys=("alt", "f4")),
            act("hotkey", keys=("ctrl", "!")),
        ]
    )
    assert [k[0]["text"] for k in keys] == ["Return", "alt+F4", "ctrl+exclam"]


def test_with_action_format_adds_a_column_per_format() -> None:
    table = actions_to_table([CLICK, SCROLL, LONG])
    code = with_action_format(table, "pyautogui").column("action").to_pylist()
    assert code[0] == "pyautogui.click(x=0.123, y=0.912)"
    calls = with_action_format(table, "openai").column("action").to_pylist()
    assert [json.loads(c) for c in calls][2] == []
    assert with_action_format(table, "anthropic").num_columns == table.num_columns + 1
    with pytest.raises(ExportError, match="unknown action format"):
        with_action_format(table, "selenium")  # type: ignore[arg-type]
