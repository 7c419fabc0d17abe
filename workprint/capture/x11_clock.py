"""Mapping X server timestamps (milliseconds, 32-bit, wrapping) to wall-clock nanoseconds.

Input and window events are stamped with the server's own time, so their order and spacing are
exactly what the server saw, however late the recorder reads them. One anchor, taken at start by
a property round trip, ties server time to the wall clock.
"""

from __future__ import annotations

import time
from typing import Any

from Xlib import X, Xatom

_WRAP = 1 << 32
_HALF = 1 << 31


class ServerClock:
    """Converts server milliseconds to wall nanoseconds; safe to share between threads."""

    def __init__(self, server_ms: int, wall_ns: int) -> None:
        self._base = (server_ms, wall_ns)  # one tuple, replaced atomically

    @classmethod
    def anchor(cls, display: Any) -> ServerClock:
        """Read the server's current time by touching a property of a private window."""
        screen = display.screen()
        window = screen.root.create_window(0, 0, 1, 1, 0, screen.root_depth)
        window.change_attributes(event_mask=X.PropertyChangeMask)
        before = time.time_ns()
        window.change_property(Xatom.WM_NAME, Xatom.STRING, 8, b"workprint-clock")
        display.flush()
        while True:
            event = display.next_event()
            if event.type == X.PropertyNotify and event.window.id == window.id:
                after = time.time_ns()
                break
        window.destroy()
        display.flush()
        return cls(int(event.time), (before + after) // 2)

    def to_ns(self, server_ms: int) -> int:
        base_ms, base_ns = self._base
        delta = (server_ms - base_ms) % _WRAP
        if delta >= _HALF:  # slightly before the anchor, not 24 days after it
            delta -= _WRAP
        t = base_ns + delta * 1_000_000
        if delta > _HALF // 2:  # far from the anchor: move it so wrap-around stays unambiguous
            self._base = (server_ms, t)
        return t
