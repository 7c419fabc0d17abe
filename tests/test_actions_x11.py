"""End to end on a real (virtual) X server: a scripted session driven with xdotool — typing with
corrections, clicks, a double click, a drag, scrolls, a right click, Escape, Ctrl+S, Alt+Tab,
typing in a second window and Enter — recorded by the real `workprint record` process, read back
through the CLI and reduced: exactly the scripted actions, with exactly the typed text."""

from __future__ import annotations

import itertools
import time
from pathlib import Path

import pytest

from tests.conftest import RecorderProcess, exported_events, run_cli
from workprint.builders.actions import (
    Action,
    reduce_actions,
    reduce_actions_reference,
    table_to_actions,
)
from workprint.events.columnar import events_to_table
from workprint.export.action_formats import to_pyautogui
from workprint.testbed import XSession
from workprint.testbed.scripted_session import SessionWindows, open_windows

pytestmark = pytest.mark.x11

TYPED = "Hello, world!"


def drive(xs: XSession, windows: SessionWindows) -> str:
    """The script; returns what the Tk window holds once the typing is done."""
    xs.activate(windows.tk)
    xs.xdotool("mousemove", "--sync", "200", "120", "click", "--delay", "0", "1")
    xs.xdotool("type", "--delay", "30", "Hello wrold")
    xs.xdotool("key", "--delay", "30", *["BackSpace"] * 4)
    xs.xdotool("type", "--delay", "30", "orld")
    xs.xdotool("key", "--delay", "30", *["Left"] * 6, "comma", *["Right"] * 6, "exclam")
    typed = windows.tk_text_file.read_text()
    xs.xdotool("key", "ctrl+s")
    xs.xdotool("mousemove", "--sync", "150", "100", "click", "--repeat", "2", "--delay", "80", "1")
    xs.xdotool("mousedown", "1")
    for step in range(1, 11):
        xs.xdotool("mousemove", "--sync", str(150 + step * 20), str(100 + step * 5))
        time.sleep(0.02)
    xs.xdotool("mouseup", "1")
    xs.xdotool("click", "--repeat", "3", "--delay", "40", "5")
    xs.xdotool("click", "--repeat", "2", "--delay", "40", "4")
    xs.xdotool("click", "--delay", "0", "3")
    xs.xdotool("key", "Escape")
    xs.xdotool("key", "--delay", "60", "alt+Tab")
    deadline = time.monotonic() + 5
    while xs.active_window() != windows.xterm and time.monotonic() < deadline:
        time.sleep(0.05)
    if xs.active_window() != windows.xterm:
        xs.activate(windows.xterm)
    xs.xdotool("type", "--delay", "30", "echo hi")
    xs.xdotool("key", "Return")
    time.sleep(0.3)
    return typed


def summary(a: Action) -> tuple[object, ...]:
    if a.kind == "type":
        return (a.kind, a.text, a.caret, a.title)
    if a.kind in ("key", "hotkey"):
        return (a.kind, a.keys, a.count, a.title)
    if a.kind == "drag":
        return (a.kind, a.button, (a.x, a.y), (a.x2, a.y2), a.title)
    if a.kind == "scroll":
        return (a.kind, a.dy, a.dx, a.title)
    return (a.kind, a.button, (a.x, a.y), a.title)


def test_scripted_session_reduces_to_exactly_the_scripted_actions(
    xsession: XSession, home: Path, tmp_path: Path, recorders: list[RecorderProcess]
) -> None:
    assert run_cli(home, "consent", "grant", "all").returncode == 0
    windows = open_windows(xsession, tmp_path)
    rec = RecorderProcess(home, xsession.display)
    recorders.append(rec)
    typed_in_tk = drive(xsession, windows)
    code, err = rec.stop()
    assert code == 0, err

    table = events_to_table(exported_events(home))
    fast = reduce_actions(table)
    assert fast.equals(reduce_actions_reference(table))
    actions = table_to_actions(fast)
    tk, xterm = "TkPad", "XTermPad"
    assert [summary(a) for a in actions] == [
        ("click", "left", (200, 120), tk),
        ("type", TYPED, len(TYPED), tk),
        ("hotkey", ("ctrl", "s"), 1, tk),
        ("double_click", "left", (150, 100), tk),
        ("drag", "left", (150, 100), (350, 150), tk),
        ("scroll", -3, 0, tk),
        ("scroll", 2, 0, tk),
        ("right_click", "right", (350, 150), tk),
        ("key", ("esc",), 1, tk),
        ("hotkey", ("alt", "tab"), 1, tk),
        ("type", "echo hi", 7, xterm),
        ("key", ("enter",), 1, xterm),
    ]
    # the text the reducer rebuilt is what the windows really received
    assert typed_in_tk == TYPED
    assert windows.xterm_text_file.read_text() == "echo hi\n"
    typing = actions[1]
    assert typing.count == len("Hello wrold") + 4 + 4 + 6 + 1 + 6 + 1  # every key press folded
    # context, times and ranges
    assert {a.app for a in actions[:10]} == {"Tk"} and actions[-1].app == "XTerm"
    assert all(a.screen_w == xsession.width and a.screen_h == xsession.height for a in actions)
    assert all(
        b.seq_first > a.seq_last and b.t_start >= a.t_end for a, b in itertools.pairwise(actions)
    )
    drag = actions[4]
    assert len([t for t in drag.path_t if t > drag.t_start]) >= 5  # the dragged path
    assert to_pyautogui(actions[:2]) == [
        f"pyautogui.click(x={round(200 / 1280, 4)}, y={round(120 / 800, 4)})",
        f"pyautogui.write(message={TYPED!r})",
    ]
