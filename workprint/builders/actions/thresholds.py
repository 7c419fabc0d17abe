"""Reduction thresholds, with defaults taken from the OS conventions and peers' reducers.

Every default is documented in docs/actions.md with where it comes from; every export's dataset
card records the thresholds it was built with (``as_dict``).
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

Seconds = Annotated[float, msgspec.Meta(ge=0, le=86_400)]
Pixels = Annotated[float, msgspec.Meta(ge=0, le=100_000)]


class Thresholds(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """When raw events become one action or several."""

    double_click_s: Seconds = 0.5
    """Presses of the same button at most this far apart (press to press) make a double or
    triple click (Windows' and GTK's default double-click time)."""
    double_click_px: Pixels = 5.0
    """... and at most this far from the first press (GTK's double-click distance)."""
    drag_px: Pixels = 8.0
    """A press becomes a drag once the pointer is this far from where it was pressed (GTK's
    drag threshold; peers use 6–10 px)."""
    long_press_s: Seconds = 1.0
    """A press held this long without dragging is a long press, not a click."""
    scroll_gap_s: Seconds = 1.0
    """Wheel notches in the same direction merge while at most this far apart."""
    scroll_px: Pixels = 50.0
    """... and while the pointer stays within this distance of the first notch."""
    type_pause_s: Seconds = 3.0
    """A pause this long between key presses ends a ``type`` action."""
    key_repeat_s: Seconds = 1.0
    """The same key or hotkey pressed again within this gap merges (``count``)."""
    fold_home_end: bool = True
    """Home/End move the caret to the start/end of the text typed in the action (assuming that
    text is the whole line); when False they end the ``type`` action and stay ``key`` actions,
    which is exact when typing into fields that already hold text."""
    hover_dwell_s: Seconds = 1.0
    """Pointer movement not followed by a click, drag or scroll is a ``move_to`` only if the
    pointer then rests this long (a deliberate hover: tooltips, hover menus)."""
    move_px: Pixels = 20.0
    """... and only if it moved at least this far."""
    web_join_s: Seconds = 0.25
    """A browser ``web_act`` lends its element and URL to an action when it is at most this far
    outside the action's time range (the page's clock reads the same wall clock, in ms, and
    reports a gesture a little after the OS saw it; docs/actions.md, "Browser context")."""

    def as_dict(self) -> dict[str, Any]:
        return {f: getattr(self, f) for f in self.__struct_fields__}


DEFAULT_THRESHOLDS = Thresholds()
