"""Capture sources: OS input and window context → event structs (nothing else, no I/O)."""

from workprint.capture.switches import CaptureSwitches
from workprint.capture.x11_input import CaptureError, X11InputCapture, open_display
from workprint.capture.x11_window import X11WindowWatcher

__all__ = ["CaptureError", "CaptureSwitches", "X11InputCapture", "X11WindowWatcher", "open_display"]
