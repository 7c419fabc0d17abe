"""A private virtual X session for tests, the demo and benchmarks (Xvfb + openbox + xdotool)."""

from workprint.testbed.xsession import XSession, XSessionError, tk_text_window_script

__all__ = ["XSession", "XSessionError", "tk_text_window_script"]
