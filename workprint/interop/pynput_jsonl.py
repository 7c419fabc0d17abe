"""Reading pynput-style event logs (DuckTrack's format, which OpenCUA's AgentNet tool extends):
one JSON object per line with ``time_stamp`` (perf-counter seconds) and ``action`` ∈ move,
click, scroll, press, release.

Every problem becomes an ``ImportIssue`` naming the file, the line and what is wrong; the line
is skipped and everything valid is kept. Keys are translated to what the X11 recorder would
have produced (X keysym names, characters, key classes, held modifiers), so the builders see
imported and recorded sessions alike.
"""

from __future__ import annotations

import contextlib
import math
import re
from collections.abc import Callable
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any, Final

import msgspec
import Xlib.keysymdef.latin1 as latin1

from workprint.events import (
    Event,
    KeyDown,
    KeyUp,
    MouseDown,
    MouseMove,
    MouseUp,
    Scroll,
    SessionStart,
    SessionStop,
)
from workprint.events.keys import classify
from workprint.interop.result import ImportIssue, read_jsonl

COORD_MAX: Final = 2**31 - 1


class Clock:
    """Perf-counter seconds → wall-clock nanoseconds, anchored at one known pair."""

    def __init__(self, perf_anchor: float, wall_anchor_ns: int) -> None:
        self.perf_anchor = perf_anchor
        self.wall_anchor_ns = wall_anchor_ns

    def ns(self, perf: float) -> int:
        return self.wall_anchor_ns + round((perf - self.perf_anchor) * 1e9)


def parse_wall_time(value: str, tz: tzinfo = UTC) -> int:
    """``2024-11-05 18:56:31`` (or ISO 8601) → ns since the epoch; naive times are in ``tz``."""
    moment = datetime.fromisoformat(value.strip())
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return round(moment.timestamp() * 1e9)


_KEYS: Final = {
    "alt": "Alt_L",
    "alt_l": "Alt_L",
    "alt_r": "Alt_R",
    "alt_gr": "ISO_Level3_Shift",
    "backspace": "BackSpace",
    "caps_lock": "Caps_Lock",
    "cmd": "Super_L",
    "cmd_l": "Super_L",
    "cmd_r": "Super_R",
    "ctrl": "Control_L",
    "ctrl_l": "Control_L",
    "ctrl_r": "Control_R",
    "delete": "Delete",
    "down": "Down",
    "end": "End",
    "enter": "Return",
    "esc": "Escape",
    "home": "Home",
    "insert": "Insert",
    "left": "Left",
    "menu": "Menu",
    "num_lock": "Num_Lock",
    "page_down": "Next",
    "page_up": "Prior",
    "pause": "Pause",
    "print_screen": "Print",
    "right": "Right",
    "scroll_lock": "Scroll_Lock",
    "shift": "Shift_L",
    "shift_l": "Shift_L",
    "shift_r": "Shift_R",
    "space": "space",
    "tab": "Tab",
    "up": "Up",
    "media_play_pause": "XF86AudioPlay",
    "media_volume_mute": "XF86AudioMute",
    "media_volume_down": "XF86AudioLowerVolume",
    "media_volume_up": "XF86AudioRaiseVolume",
    "media_previous": "XF86AudioPrev",
    "media_next": "XF86AudioNext",
    **{f"f{i}": f"F{i}" for i in range(1, 25)},
}
_CONTROL_CHARS: Final = {"Return": "\n", "Tab": "\t", "space": " "}
_MOD_BITS: Final = {
    "Shift_L": "shift",
    "Shift_R": "shift",
    "Control_L": "ctrl",
    "Control_R": "ctrl",
    "Alt_L": "alt",
    "Alt_R": "alt",
    "Super_L": "meta",
    "Super_R": "meta",
    "ISO_Level3_Shift": "altgr",
}
_MOD_ORDER: Final = ("shift", "ctrl", "alt", "meta", "altgr", "capslock")


def _char_keysyms() -> dict[str, str]:
    """Character → X keysym name, first definition first (``apostrophe``, not ``quoteright``)."""
    table: dict[str, str] = {}
    for name, value in vars(latin1).items():
        if name.startswith("XK_") and isinstance(value, int) and 0x20 <= value <= 0xFF:
            table.setdefault(chr(value), name[3:])
    return table


_CHAR_KEYSYMS: Final = _char_keysyms()
_BUTTONS: Final = {"left": 1, "middle": 2, "right": 3, "x1": 8, "x2": 9}
_VK: Final = re.compile(r"^<(\d+)>$")


class _Keyboard:
    """Held modifiers and pressed keys, to give each key event the recorder's fields."""

    def __init__(self) -> None:
        self.held: set[str] = set()
        self.capslock = False
        self.pressed: dict[str, tuple[str, str | None, str, tuple[str, ...]]] = {}

    def mods(self) -> tuple[str, ...]:
        names = {_MOD_BITS[k] for k in self.held if k in _MOD_BITS}
        if self.capslock:
            names.add("capslock")
        return tuple(m for m in _MOD_ORDER if m in names)

    def resolve(self, name: str, raw: str | None) -> tuple[str, str | None]:
        """pynput's key name (+ the raw ``pynput_key`` if given) → (keysym, char)."""
        bare = name.removeprefix("Key.")
        if bare in _KEYS:
            keysym = _KEYS[bare]
            return keysym, _CONTROL_CHARS.get(keysym)
        if len(bare) == 3 and bare[0] == bare[2] == "'":
            bare = bare[1]
        vk = _VK.match(raw or "") or _VK.match(bare)
        if len(bare) == 1:
            char = bare
            if vk is not None and char.isalpha():  # a virtual-key code: the key, not the text
                char = char.upper() if "shift" in self.mods() else char.lower()
            return _CHAR_KEYSYMS.get(char, char if char.isalnum() else f"U{ord(char):04X}"), char
        if vk is not None:
            code = int(vk.group(1))
            if 65 <= code <= 90 or 48 <= code <= 57:
                char = chr(code)
                char = char.lower() if "shift" not in self.mods() else char
                return char, char
        raise ValueError(f"unknown key {name!r}")

    def event(self, down: bool, t: int, session: str, name: str, raw: str | None) -> Event:
        if down:
            keysym, char = self.resolve(name, raw)
            if keysym in _MOD_BITS:
                self.held.add(keysym)
            elif keysym == "Caps_Lock":
                self.capslock = not self.capslock
            fields = (keysym, char, classify(keysym, char), self.mods())
            self.pressed[keysym] = fields
            keysym, char, cls, mods = fields
            return KeyDown(t=t, session=session, cls=cls, key=keysym, char=char, mods=mods)  # type: ignore[arg-type]
        keysym, char = self.resolve(name, raw)
        fields = self.pressed.pop(keysym, (keysym, char, classify(keysym, char), self.mods()))
        self.held.discard(keysym)
        keysym, char, cls, mods = fields
        return KeyUp(t=t, session=session, cls=cls, key=keysym, char=char, mods=mods)  # type: ignore[arg-type]


def _number(obj: dict[str, Any], field: str) -> float:
    value = obj.get(field)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"field {field!r} must be a finite number, got {value!r}")
    return float(value)


def _coord(obj: dict[str, Any], field: str) -> int:
    value = round(_number(obj, field))
    if abs(value) > COORD_MAX:
        raise ValueError(f"field {field!r} is out of range ({value})")
    return value


def read_events(
    path: Path,
    session: str,
    to_ns: Callable[[float], int],
    scroll_sign: int,
    issues: list[ImportIssue],
) -> list[tuple[float, Event]]:
    """A pynput-style events.jsonl → (perf time, event) pairs in file order."""
    keyboard = _Keyboard()
    out: list[tuple[float, Event]] = []
    for number, obj in read_jsonl(path, issues):
        try:
            perf = _number(obj, "time_stamp")
            t = to_ns(perf)
            if t < 0:
                raise ValueError(f"time_stamp {perf} is before 1970 once anchored")
            out.append((perf, _event(obj, t, session, scroll_sign, keyboard)))
        except (ValueError, msgspec.ValidationError) as exc:
            issues.append(ImportIssue(path.name, number, str(exc)))
    return out


def _event(obj: dict[str, Any], t: int, session: str, sign: int, kb: _Keyboard) -> Event:
    action = obj.get("action")
    if action == "move":
        return MouseMove(t=t, session=session, x=_coord(obj, "x"), y=_coord(obj, "y"))
    if action == "click":
        button = str(obj.get("button", "")).removeprefix("Button.")
        if button not in _BUTTONS:
            raise ValueError(f"unknown button {obj.get('button')!r}")
        pressed = obj.get("pressed")
        if not isinstance(pressed, bool):
            raise ValueError(f"field 'pressed' must be true or false, got {pressed!r}")
        kind = MouseDown if pressed else MouseUp
        x, y = _coord(obj, "x"), _coord(obj, "y")
        return kind(t=t, session=session, x=x, y=y, button=_BUTTONS[button])
    if action == "scroll":
        x, y = _coord(obj, "x"), _coord(obj, "y")
        dx, dy = _coord(obj, "dx") * sign, _coord(obj, "dy") * sign
        return Scroll(t=t, session=session, x=x, y=y, dx=dx, dy=dy)
    if action in ("press", "release"):
        name = obj.get("name")
        if not isinstance(name, str) or not name:
            raise ValueError(f"field 'name' must be a key name, got {name!r}")
        raw = obj.get("pynput_key")
        return kb.event(action == "press", t, session, name, raw if isinstance(raw, str) else None)
    raise ValueError(f"unknown action {action!r} (expected move, click, scroll, press, release)")


def scroll_sign(metadata: dict[str, Any], file: str, issues: list[ImportIssue]) -> int:
    """``scroll_direction``: -1 (the usual sign: pynput's dy < 0 is down) or 1 (inverted, e.g.
    macOS natural scrolling) → the factor that turns raw notches into workprint's dy > 0 = up."""
    value = metadata.get("scroll_direction", -1)
    if value not in (-1, 1) or isinstance(value, bool):
        issues.append(
            ImportIssue(file, None, f"scroll_direction must be -1 or 1, got {value!r}; using -1")
        )
        return 1
    return 1 if value == -1 else -1


def session_id(prefix: str, folder: Path) -> str:
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", folder.resolve().name).strip("-") or "recording"
    return f"{prefix}-{name}"[:64]


def anchored_clock(
    metadata: dict[str, Any],
    first_perf: float | None,
    file: str,
    issues: list[ImportIssue],
    tz: tzinfo = UTC,
) -> Clock:
    """Perf times are anchored so that ``video_start_timestamp`` (or, without it, the first
    event) falls at ``start_time``; without a usable ``start_time`` perf seconds count from the
    epoch and an issue says so."""
    perf = metadata.get("video_start_timestamp")
    if isinstance(perf, bool) or not isinstance(perf, int | float) or not math.isfinite(perf):
        perf = first_perf if first_perf is not None else 0.0
    start = metadata.get("start_time")
    if isinstance(start, str):
        try:
            return Clock(float(perf), parse_wall_time(start, tz))
        except ValueError:
            issues.append(ImportIssue(file, None, f"start_time {start!r} is not a date and time"))
    else:
        issues.append(ImportIssue(file, None, "no start_time: times are not anchored"))
    return Clock(0.0, 0)


def assemble(
    session: str,
    source: str,
    metadata: dict[str, Any],
    clock: Clock,
    timed: list[tuple[float, int, Event]],
    scopes: tuple[str, ...],
    tz: tzinfo = UTC,
) -> list[Event]:
    """Order (perf time, priority, event) by time — window focus before input at the same
    instant, file order otherwise — between a SessionStart and a SessionStop; number them."""
    timed.sort(key=lambda item: (item[0], item[1]))
    events = [e for _, _, e in timed]
    width, height = metadata.get("screen_width"), metadata.get("screen_height")
    start_ns = clock.wall_anchor_ns
    first = min([start_ns, *(e.t for e in events[:1])])
    start = SessionStart(
        t=max(first, 0),
        session=session,
        device=source,
        source=source,
        screen_w=width if isinstance(width, int) and 0 < width < 2**31 else 0,
        screen_h=height if isinstance(height, int) and 0 < height < 2**31 else 0,
        scopes=scopes,  # type: ignore[arg-type]
    )
    stop_t = events[-1].t if events else start.t
    stop = metadata.get("stop_time")
    if isinstance(stop, str):
        with contextlib.suppress(ValueError):  # a bad stop time only loses the stop time
            stop_t = max(stop_t, parse_wall_time(stop, tz))
    out: list[Event] = [start, *events, SessionStop(t=stop_t, session=session)]
    return [msgspec.structs.replace(e, seq=i) for i, e in enumerate(out)]
