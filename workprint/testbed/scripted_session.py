"""A scripted working session on a virtual display: two real windows (a Tk text editor and an
xterm), typed text with Shift, Backspace and arrows, Ctrl+C/V, Alt+Tab, clicks, a double click,
a drag and scrolling — all as real X input through xdotool. The demo and the end-to-end tests
record it."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path

from workprint.testbed.xsession import XSession, tk_text_window_script


@dataclass
class SessionWindows:
    tk: int
    xterm: int
    tk_text_file: Path
    xterm_text_file: Path


def open_windows(xs: XSession, workdir: Path) -> SessionWindows:
    """Open the Tk editor ("TkPad") and an xterm ("XTermPad") whose input goes to a file."""
    tk_file = workdir / "tkpad.txt"
    xterm_file = workdir / "xterm.txt"
    xs.spawn([sys.executable, str(tk_text_window_script()), "TkPad", str(tk_file)])
    tk = xs.wait_for_window("TkPad")
    xs.spawn(
        [
            "xterm",
            "-T",
            "XTermPad",
            "-geometry",
            "80x20+600+300",
            "-e",
            "sh",
            "-c",
            f"stty -echo; cat > {xterm_file}",
        ]
    )
    xterm = xs.wait_for_window("XTermPad")
    return SessionWindows(tk, xterm, tk_file, xterm_file)


# What the script types, and what each window must hold afterwards (the ground truth).
TK_TYPED = "Hello workprnt"
TK_EXPECTED_BEFORE_PASTE = "Hello Xworkprint!"
XTERM_TYPED = "echo private notes"


def type_into_tk(xs: XSession, windows: SessionWindows) -> None:
    xs.activate(windows.tk)
    xs.xdotool("mousemove", "--sync", "200", "120", "click", "--delay", "0", "1")
    xs.xdotool("type", "--delay", "30", TK_TYPED)
    xs.xdotool("key", "--delay", "30", "BackSpace", "BackSpace", "i", "n", "t", "End", "exclam")
    xs.xdotool("key", "--delay", "30", *["Left"] * 10, "X", "End")


def copy_paste_in_tk(xs: XSession) -> None:
    """Select the last word with Shift+Ctrl+Left, copy, paste it at the end."""
    xs.xdotool("key", "--delay", "40", "shift+ctrl+Left", "ctrl+c", "End", "ctrl+v")


def alt_tab_to_xterm(xs: XSession, windows: SessionWindows) -> None:
    xs.xdotool("key", "--delay", "60", "alt+Tab")
    deadline = time.monotonic() + 5
    while xs.active_window() != windows.xterm and time.monotonic() < deadline:
        time.sleep(0.05)
    if xs.active_window() != windows.xterm:
        xs.activate(windows.xterm)


def type_into_xterm(xs: XSession) -> None:
    xs.xdotool("type", "--delay", "30", XTERM_TYPED)
    xs.xdotool("key", "Return")


def mouse_gestures(xs: XSession, windows: SessionWindows) -> None:
    """Double click, drag with a path, right click and wheel scrolling over the Tk window."""
    xs.activate(windows.tk)
    xs.xdotool("mousemove", "--sync", "150", "100", "click", "--repeat", "2", "--delay", "80", "1")
    xs.xdotool("mousedown", "1")
    for step in range(1, 11):
        xs.xdotool("mousemove", "--sync", str(150 + step * 20), str(100 + step * 5))
        time.sleep(0.02)  # a person's drag takes a few hundred ms
    xs.xdotool("mouseup", "1")
    xs.xdotool("click", "--delay", "0", "3")
    xs.xdotool("key", "Escape")
    xs.xdotool("click", "--repeat", "3", "--delay", "40", "5")
    xs.xdotool("click", "--repeat", "2", "--delay", "40", "4")


def run_scripted_session(xs: XSession, windows: SessionWindows) -> None:
    type_into_tk(xs, windows)
    copy_paste_in_tk(xs)
    alt_tab_to_xterm(xs, windows)
    type_into_xterm(xs)
    mouse_gestures(xs, windows)
    time.sleep(0.3)
