"""Switches the agent sets and the capture loop reads: what to decode at all.

They are an early cut, so nothing out of scope is even turned into an event; the edge policy
(workprint.policy) re-checks every event anyway before it may reach the spool."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class CaptureSwitches:
    keys: bool = False
    text: bool = False
    mouse: bool = False
    move_interval_ns: int = 16_666_667
    move_min_px_sq: int = 4
    # (modifier state bits as in capture.x11_keymap, lower-case key name), or None
    hotkey: tuple[int, str] | None = None

    def set_coalescing(self, max_hz: float, min_px: int) -> None:
        self.move_interval_ns = int(1e9 / max_hz)
        self.move_min_px_sq = min_px * min_px
