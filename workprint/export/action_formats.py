"""Actions → the formats agent trainers consume.

- ``to_pyautogui``: one pyautogui code string per action, coordinates normalised 0–1 and rounded
  to 4 places (OpenCUA/AgentNet, Aguvis).
- ``to_computer13``: OSWorld's ``computer_13`` action dicts, pixel coordinates.
- ``to_openai``: OpenAI computer-use actions (``computer_call`` action objects), pixels.
- ``to_anthropic``: Anthropic computer-tool inputs (xdotool key names), pixels.

Each returns one entry per action (for the dict formats, the list of calls that replays it); an
empty list means the action cannot be expressed in that format (docs/actions.md lists which).
Pixel formats can rescale to another screen (``scale_to``), e.g. the resolution a model uses.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any, Final, Literal

import pyarrow as pa

from workprint.builders.actions import Action, table_to_actions
from workprint.errors import WorkprintError

Format = Literal["pyautogui", "computer_13", "openai", "anthropic"]
FORMATS: Final[tuple[str, ...]] = ("pyautogui", "computer_13", "openai", "anthropic")
Call = dict[str, Any]


class ExportError(WorkprintError):
    """An action lacks what a format needs (e.g. normalised coordinates without a screen size)."""


# pyautogui/OSWorld key names (our canonical names) that differ per format
_PYAUTOGUI: Final = {"meta": "win"}
# X keysym names of ASCII punctuation, in code point order
_PUNCTUATION: Final = [
    *("exclam", "quotedbl", "numbersign", "dollar", "percent", "ampersand", "apostrophe"),
    *("parenleft", "parenright", "asterisk", "plus", "comma", "minus", "period", "slash"),
    *("colon", "semicolon", "less", "equal", "greater", "question", "at", "bracketleft"),
    *("backslash", "bracketright", "asciicircum", "underscore", "grave", "braceleft", "bar"),
    *("braceright", "asciitilde"),
]
_XDOTOOL: Final = {
    "enter": "Return",
    "esc": "Escape",
    "backspace": "BackSpace",
    "delete": "Delete",
    "tab": "Tab",
    "space": "space",
    "left": "Left",
    "right": "Right",
    "up": "Up",
    "down": "Down",
    "home": "Home",
    "end": "End",
    "pageup": "Page_Up",
    "pagedown": "Page_Down",
    "insert": "Insert",
    "printscreen": "Print",
    "apps": "Menu",
    "capslock": "Caps_Lock",
    "numlock": "Num_Lock",
    "scrolllock": "Scroll_Lock",
    "pause": "Pause",
    "meta": "super",
    **dict(zip("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", _PUNCTUATION, strict=True)),
}
_OPENAI: Final = {
    "left": "ARROWLEFT",
    "right": "ARROWRIGHT",
    "up": "ARROWUP",
    "down": "ARROWDOWN",
}


def _xdotool_key(name: str) -> str:
    if name in _XDOTOOL:
        return _XDOTOOL[name]
    return name[:1].upper() + name[1:] if name[:1] == "f" and name[1:].isdigit() else name


def _openai_key(name: str) -> str:
    if name in _OPENAI:
        return _OPENAI[name]
    return name.upper() if len(name) > 1 else name


def _seconds(a: Action) -> float:
    return round((a.t_end - a.t_start) / 1e9, 3)


# -- pyautogui ---------------------------------------------------------------------------------


def _norm(value: float | None, a: Action) -> float:
    if value is None:
        raise ExportError(
            f"{a.kind} at seq {a.seq_first}..{a.seq_last} has no normalised coordinates "
            "(the session's screen size is unknown)"
        )
    return round(value, 4)


def _xy(a: Action, second: bool = False) -> str:
    nx, ny = (a.nx2, a.ny2) if second else (a.nx, a.ny)
    return f"x={_norm(nx, a)}, y={_norm(ny, a)}"


def _pyautogui(a: Action) -> str:
    keys = [_PYAUTOGUI.get(k, k) for k in a.keys]
    if a.kind == "type":
        lines = [f"pyautogui.write(message={a.text!r})"]
        back = len(a.text or "") - (a.caret if a.caret is not None else len(a.text or ""))
        if back:
            lines.append(f"pyautogui.press('left', presses={back})")
        return "\n".join(lines)
    if a.kind == "key":
        extra = f", presses={a.count}" if a.count > 1 else ""
        return f"pyautogui.press({keys[0]!r}{extra})"
    if a.kind == "hotkey":
        line = "pyautogui.hotkey(" + ", ".join(repr(k) for k in keys) + ")"
        return "\n".join([line] * a.count)
    body = _pyautogui_pointer(a)
    if not a.mods:
        return body
    mods = [_PYAUTOGUI.get(m, m) for m in a.mods]
    down = [f"pyautogui.keyDown({m!r})" for m in mods]
    up = [f"pyautogui.keyUp({m!r})" for m in reversed(mods)]
    return "\n".join([*down, body, *up])


def _pyautogui_pointer(a: Action) -> str:
    if a.kind in ("click", "double_click", "triple_click", "right_click", "middle_click"):
        if a.button in ("back", "forward"):
            return f"pyautogui.hotkey('alt', {'left' if a.button == 'back' else 'right'!r})"
        named = {
            ("left", 1): "click",
            ("left", 2): "doubleClick",
            ("left", 3): "tripleClick",
            ("right", 1): "rightClick",
            ("middle", 1): "middleClick",
        }.get((a.button or "", a.count))
        if named:
            return f"pyautogui.{named}({_xy(a)})"
        return f"pyautogui.click({_xy(a)}, clicks={a.count}, button={a.button!r})"
    if a.kind == "drag":
        return f"pyautogui.moveTo({_xy(a)})\npyautogui.dragTo({_xy(a, True)}, button={a.button!r})"
    if a.kind == "long_press":
        return (
            f"pyautogui.moveTo({_xy(a)})\npyautogui.mouseDown(button={a.button!r})\n"
            f"pyautogui.sleep({_seconds(a)})\npyautogui.mouseUp(button={a.button!r})"
        )
    if a.kind == "move_to":
        return f"pyautogui.moveTo({_xy(a)})"
    if a.kind == "scroll":
        lines = [f"pyautogui.moveTo({_xy(a)})"]
        if a.dy:
            lines.append(f"pyautogui.scroll({a.dy})")
        if a.dx:
            lines.append(f"pyautogui.hscroll({a.dx})")
        return "\n".join(lines)
    raise ExportError(f"unknown action kind {a.kind!r}")


def to_pyautogui(actions: Sequence[Action], *, terminate: str | None = None) -> list[str]:
    """One pyautogui code string per action; ``terminate`` appends OpenCUA's final
    ``computer.terminate(status=...)`` step."""
    steps = [_pyautogui(a) for a in actions]
    if terminate is not None:
        steps.append(f"computer.terminate(status={terminate!r})")
    return steps


# -- pixel formats -----------------------------------------------------------------------------


class _Pixels:
    def __init__(self, scale_to: tuple[int, int] | None) -> None:
        self.scale_to = scale_to

    def __call__(self, a: Action, second: bool = False) -> tuple[int, int]:
        x, y = (a.x2, a.y2) if second else (a.x, a.y)
        if x is None or y is None:
            raise ExportError(f"{a.kind} at seq {a.seq_first} has no coordinates")
        if self.scale_to is None:
            return x, y
        nx, ny = (a.nx2, a.ny2) if second else (a.nx, a.ny)
        if nx is None or ny is None:
            raise ExportError(
                f"{a.kind} at seq {a.seq_first}: cannot rescale without a screen size"
            )
        return round(nx * self.scale_to[0]), round(ny * self.scale_to[1])

    def point(self, a: Action, x: int, y: int) -> tuple[int, int]:
        """A raw pixel of the action's screen (e.g. a path point), rescaled like its ends."""
        if self.scale_to is None:
            return x, y
        if not a.screen_w or not a.screen_h:
            raise ExportError(
                f"{a.kind} at seq {a.seq_first}: cannot rescale without a screen size"
            )
        return round(x / a.screen_w * self.scale_to[0]), round(y / a.screen_h * self.scale_to[1])


def _caret_back(a: Action) -> int:
    text = a.text or ""
    return len(text) - (a.caret if a.caret is not None else len(text))


def _computer13(a: Action, px: _Pixels) -> list[Call]:
    def c(kind: str, **params: Any) -> Call:
        return {"action_type": kind, "parameters": params}

    if a.kind == "type":
        return [c("TYPING", text=a.text)] + [c("PRESS", key="left")] * _caret_back(a)
    keys = [_PYAUTOGUI.get(k, k) for k in a.keys]
    if a.kind == "key":
        return [c("PRESS", key=keys[0])] * a.count
    if a.kind == "hotkey":
        return [c("HOTKEY", keys=keys)] * a.count
    x, y = px(a)
    if a.kind in ("click", "double_click", "triple_click", "right_click", "middle_click"):
        if a.button in ("back", "forward"):
            body = [c("HOTKEY", keys=["alt", "left" if a.button == "back" else "right"])]
        elif a.button in ("left", "right", "middle"):
            body = [c("CLICK", button=a.button, x=x, y=y, num_clicks=a.count)]
        else:
            return []
    elif a.kind == "drag":
        x2, y2 = px(a, True)
        if a.button == "left":
            body = [c("MOVE_TO", x=x, y=y), c("DRAG_TO", x=x2, y=y2)]
        else:
            body = [
                c("MOVE_TO", x=x, y=y),
                c("MOUSE_DOWN", button=a.button),
                c("MOVE_TO", x=x2, y=y2),
                c("MOUSE_UP", button=a.button),
            ]
    elif a.kind == "long_press":
        down, up = c("MOUSE_DOWN", button=a.button), c("MOUSE_UP", button=a.button)
        body = [c("MOVE_TO", x=x, y=y), down, c("WAIT"), up]
    elif a.kind == "move_to":
        body = [c("MOVE_TO", x=x, y=y)]
    else:
        body = [c("MOVE_TO", x=x, y=y), c("SCROLL", dx=a.dx or 0, dy=a.dy or 0)]
    mods = [_PYAUTOGUI.get(m, m) for m in a.mods]
    return [
        *(c("KEY_DOWN", key=m) for m in mods),
        *body,
        *(c("KEY_UP", key=m) for m in reversed(mods)),
    ]


def _openai(a: Action, px: _Pixels, notch_px: int) -> list[Call]:
    if a.kind == "type":
        return [{"type": "type", "text": a.text}] + [
            {"type": "keypress", "keys": ["ARROWLEFT"]}
        ] * _caret_back(a)
    if a.kind in ("key", "hotkey"):
        return [{"type": "keypress", "keys": [_openai_key(k) for k in a.keys]}] * a.count
    x, y = px(a)
    held = {"keys": [_openai_key(m) for m in a.mods]} if a.mods else {}
    if a.kind in ("click", "double_click", "triple_click", "right_click", "middle_click"):
        button = {"middle": "wheel"}.get(a.button or "", a.button)
        if button not in ("left", "right", "wheel", "back", "forward"):
            return []
        click = {"type": "click", "button": button, "x": x, "y": y, **held}
        if button == "left" and a.count > 1:
            double = {"type": "double_click", "x": x, "y": y, **held}
            return [double] if a.count == 2 else [double, click]
        return [click] * a.count
    if a.kind == "drag":
        if a.button != "left":
            return []
        during = zip(a.path_x, a.path_y, a.path_t, strict=True)
        pts = [(x, y), *(px.point(a, p, q) for p, q, t in during if t > a.t_start), px(a, True)]
        return [{"type": "drag", "path": [{"x": p, "y": q} for p, q in pts], **held}]
    if a.kind == "long_press":
        return []
    if a.kind == "move_to":
        return [{"type": "move", "x": x, "y": y, **held}]
    scroll = {"scroll_x": (a.dx or 0) * notch_px, "scroll_y": -(a.dy or 0) * notch_px}
    return [{"type": "scroll", "x": x, "y": y, **scroll, **held}]


def _anthropic(a: Action, px: _Pixels) -> list[Call]:
    if a.kind == "type":
        return [{"action": "type", "text": a.text}] + [
            {"action": "key", "text": "Left"}
        ] * _caret_back(a)
    if a.kind in ("key", "hotkey"):
        return [{"action": "key", "text": "+".join(_xdotool_key(k) for k in a.keys)}] * a.count
    x, y = px(a)
    held = {"text": "+".join(_xdotool_key(m) for m in a.mods)} if a.mods else {}
    at = {"coordinate": [x, y], **held}
    if a.kind in ("click", "double_click", "triple_click", "right_click", "middle_click"):
        if a.button == "left":
            return [{"action": ("left_click", "double_click", "triple_click")[a.count - 1], **at}]
        if a.button in ("right", "middle"):
            return [{"action": f"{a.button}_click", **at}] * a.count
        if a.button in ("back", "forward"):
            arrow = "Left" if a.button == "back" else "Right"
            return [{"action": "key", "text": f"alt+{arrow}"}]
        return []
    if a.kind == "drag":
        if a.button != "left":
            return []
        return [
            {
                "action": "left_click_drag",
                "start_coordinate": [x, y],
                "coordinate": list(px(a, True)),
            }
        ]
    if a.kind == "long_press":
        if a.button != "left":
            return []
        return [
            {"action": "mouse_move", "coordinate": [x, y]},
            {"action": "left_mouse_down"},
            {"action": "wait", "duration": _seconds(a)},
            {"action": "left_mouse_up"},
        ]
    if a.kind == "move_to":
        return [{"action": "mouse_move", "coordinate": [x, y]}]
    out: list[Call] = []
    for amount, neg, pos in ((a.dy or 0, "down", "up"), (a.dx or 0, "left", "right")):
        if amount:
            direction = pos if amount > 0 else neg
            out.append(
                {
                    "action": "scroll",
                    **at,
                    "scroll_direction": direction,
                    "scroll_amount": abs(amount),
                }
            )
    return out


def to_computer13(
    actions: Sequence[Action], *, scale_to: tuple[int, int] | None = None
) -> list[list[Call]]:
    px = _Pixels(scale_to)
    return [_computer13(a, px) for a in actions]


def to_openai(
    actions: Sequence[Action], *, scale_to: tuple[int, int] | None = None, notch_px: int = 100
) -> list[list[Call]]:
    """``notch_px``: pixels per wheel notch (OpenAI scroll amounts are in pixels; a browser
    scrolls ~100 px per notch)."""
    px = _Pixels(scale_to)
    return [_openai(a, px, notch_px) for a in actions]


def to_anthropic(
    actions: Sequence[Action], *, scale_to: tuple[int, int] | None = None
) -> list[list[Call]]:
    px = _Pixels(scale_to)
    return [_anthropic(a, px) for a in actions]


_FORMATTERS: Final[dict[str, Callable[[Sequence[Action]], Sequence[object]]]] = {
    "pyautogui": to_pyautogui,
    "computer_13": to_computer13,
    "openai": to_openai,
    "anthropic": to_anthropic,
}


def with_action_format(actions: pa.Table, fmt: Format) -> pa.Table:
    """Add an ``action`` column to an actions batch: the pyautogui code, or the format's calls
    as a JSON string (empty list when not expressible)."""
    if fmt not in _FORMATTERS:
        raise ExportError(f"unknown action format {fmt!r} (expected one of {', '.join(FORMATS)})")
    values = _FORMATTERS[fmt](table_to_actions(actions))
    column = [v if isinstance(v, str) else json.dumps(v, ensure_ascii=False) for v in values]
    return actions.append_column(pa.field("action", pa.string()), pa.array(column, pa.string()))
