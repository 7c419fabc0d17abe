"""Active-window context: follows ``_NET_ACTIVE_WINDOW`` on the root window and the title of the
active window, emitting one ``WindowFocus`` per real change (window 0 and repeats are skipped).

Titles are always read (exclusion rules match on them); the edge policy removes them before the
spool unless the window-titles scope is granted."""

from __future__ import annotations

import contextlib
import logging
import os
import select
import threading
import time
from collections.abc import Callable
from typing import Any

from Xlib import X, Xatom
from Xlib.error import XError

from workprint.capture.x11_clock import ServerClock
from workprint.capture.x11_input import open_display
from workprint.events import Event, WindowFocus

log = logging.getLogger(__name__)


class X11WindowWatcher:
    def __init__(
        self,
        display_name: str | None,
        *,
        session: str,
        clock: ServerClock,
        emit: Callable[[Event], None],
    ) -> None:
        self._display = open_display(display_name)
        # asynchronous errors (a window closed under us) are expected: log, don't print
        self._display.set_error_handler(lambda err, _req=None: log.debug("X error: %s", err))
        self._root = self._display.screen().root
        self._clock = clock
        self._session = session
        self._emit = emit
        atom = self._display.intern_atom
        self._net_active = atom("_NET_ACTIVE_WINDOW")
        self._net_wm_name = atom("_NET_WM_NAME")
        self._net_wm_pid = atom("_NET_WM_PID")
        self._utf8 = atom("UTF8_STRING")
        self._watched: Any = None
        self._last: tuple[int, str, str | None] | None = None
        self._last_t = 0  # the time of the last focus said: focus times never go back
        self._stop = threading.Event()
        self._refresh = threading.Event()
        self._refreshed = threading.Event()
        self._wake_r, self._wake_w = os.pipe()  # lets refresh() interrupt the select at once
        self._thread = threading.Thread(target=self._run, name="x11-window", daemon=True)

    def start(self, server_ms: int = X.CurrentTime) -> None:
        self._root.change_attributes(event_mask=X.PropertyChangeMask)
        self._display.flush()
        self._check_active(server_ms)
        self._thread.start()

    def refresh(self, wait: float = 0.0) -> bool:
        """Emit the current focus again (from any thread), even if it did not change; wait up
        to ``wait`` seconds until it has been emitted. Returns whether it was."""
        self._refreshed.clear()
        self._refresh.set()
        os.write(self._wake_w, b"!")
        return self._refreshed.wait(wait) if wait else False

    def stop(self) -> None:
        self._stop.set()
        os.write(self._wake_w, b"!")
        if self._thread.ident is not None:
            self._thread.join(timeout=5)
        os.close(self._wake_r)
        os.close(self._wake_w)
        try:
            self._display.close()
        except Exception as exc:
            log.info("closing X connection: %s", exc)

    def _run(self) -> None:
        display = self._display
        fd = display.fileno()
        try:
            while not self._stop.is_set():
                if self._refresh.is_set():
                    self._refresh.clear()
                    self._last = None
                    self._check_active(X.CurrentTime)
                    self._refreshed.set()
                if not display.pending_events():
                    ready, _, _ = select.select([fd, self._wake_r], [], [])
                    if self._wake_r in ready:
                        os.read(self._wake_r, 64)
                    continue
                event = display.next_event()
                if event.type != X.PropertyNotify:
                    continue
                if (
                    event.window == self._root and event.atom == self._net_active
                ) or event.atom in (self._net_wm_name, Xatom.WM_NAME):
                    self._check_active(event.time)
        except (OSError, XError) as exc:
            log.info("window watcher stopped: %s", exc)

    def _check_active(self, server_ms: int) -> None:
        try:
            window = self._active_window()
            if window is None:
                return
            app = self._app(window)
            title = self._title(window)
            pid = self._pid(window)
        except XError:  # the window went away between the notification and our reads
            return
        key = (window.id, app, title)
        if key == self._last:
            return
        self._last = key
        self._watch(window)
        t = self._clock.to_ns(server_ms) if server_ms else time.time_ns()
        # A server time has millisecond resolution and the anchor to the wall clock its own
        # error, so a change seen after a snapshot (wall time) can carry an earlier time; the
        # events are ordered by time downstream. What was seen later is said later.
        t = self._last_t = max(t, self._last_t + 1)
        self._emit(
            WindowFocus(t=t, session=self._session, app=app, title=title, pid=pid, window=window.id)
        )

    def _active_window(self) -> Any:
        prop = self._root.get_full_property(self._net_active, X.AnyPropertyType)
        if prop is None or not prop.value or prop.value[0] == 0:
            return None
        return self._display.create_resource_object("window", prop.value[0])

    def _watch(self, window: Any) -> None:
        """Follow title changes of the active window only."""
        if self._watched is not None and self._watched.id != window.id:
            with contextlib.suppress(XError):
                self._watched.change_attributes(event_mask=X.NoEventMask)
        window.change_attributes(event_mask=X.PropertyChangeMask)
        self._watched = window

    @staticmethod
    def _app(window: Any) -> str:
        wm_class = window.get_wm_class()
        if wm_class:
            return str(wm_class[1] or wm_class[0])
        return ""

    def _title(self, window: Any) -> str | None:
        prop = window.get_full_property(self._net_wm_name, self._utf8)
        if prop is not None and prop.value:
            value = prop.value
            return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
        name = window.get_wm_name()
        if name is None:
            return None
        return name.decode("latin-1") if isinstance(name, bytes) else str(name)

    def _pid(self, window: Any) -> int | None:
        prop = window.get_full_property(self._net_wm_pid, Xatom.CARDINAL)
        if prop is not None and len(prop.value):
            return int(prop.value[0])
        return None
