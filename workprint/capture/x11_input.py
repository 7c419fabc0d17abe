"""Keyboard and mouse capture through the X RECORD extension.

We ask python-xlib to set up the record context, then read the data connection's byte stream
ourselves: each read may hold many intercepted events, which are decoded with one
``struct.unpack_from`` each, coalesced, gated by the capture switches and turned into event
structs only if they are kept. Reading the stream in slices (one wake-up per
50 ms of input, not per event) is what makes the recorder cheaper per event than a pynput
listener (figures in docs/performance.md). Stopping disables the context from the control
connection, so the reader wakes up with an EndOfData reply instead of waiting for the next event.
"""

from __future__ import annotations

import logging
import select
import socket
import struct
import threading
import time
from collections.abc import Callable
from typing import Any, Final

from Xlib import X
from Xlib import display as xdisplay
from Xlib.error import DisplayError
from Xlib.ext import record

from workprint.capture.switches import CaptureSwitches
from workprint.capture.x11_clock import ServerClock
from workprint.capture.x11_keymap import CAPSLOCK, MODS_BY_STATE, Keymap
from workprint.errors import WorkprintError
from workprint.events import (
    NAMED_KEY_CLASSES,
    Event,
    KeyDown,
    KeyUp,
    MouseDown,
    MouseMove,
    MouseUp,
    Scroll,
)

log = logging.getLogger(__name__)

_RECORD_ENABLE_CONTEXT: Final = 5
_REPLY: Final = struct.Struct("<xBxxIxB")  # category, length (4-byte units), client_swapped
_DEVICE_LE: Final = struct.Struct("<BBxxI12xhh")  # type, detail, time, root_x, root_y
_DEVICE_BE: Final = struct.Struct(">BBxxI12xhh")
_FROM_SERVER: Final = 0
_END_OF_DATA: Final = 5
_MAPPING_NOTIFY: Final = 34
_GENERIC_EVENT: Final = 35
# Reading in slices: one wake-up per READ_SLICE_S of input instead of one per event. A rested
# pointer's last position is said after REST_S. Both stay well inside the agent's hold-back
# (recorder.HOLD_NS), so events still reach the spool in time order.
READ_SLICE_S: Final = 0.1
REST_S: Final = 0.05
# X buttons 4-7 are wheel notches: (dx, dy), dy > 0 is up as in pynput.
_WHEEL: Final = {4: (0, 1), 5: (0, -1), 6: (-1, 0), 7: (1, 0)}


class CaptureError(WorkprintError):
    """The X display cannot be used for capture."""


def open_display(name: str | None) -> Any:
    """Open an X connection, turning every failure into one readable line."""
    try:
        return xdisplay.Display(name)
    except (DisplayError, OSError, ValueError) as exc:
        shown = name or "$DISPLAY (unset)"
        raise CaptureError(f"cannot open X display {shown}: {exc}") from None


class X11InputCapture:
    """Reads key and pointer events for the whole X server and emits kept events."""

    def __init__(
        self,
        display_name: str | None,
        *,
        session: str,
        switches: CaptureSwitches,
        emit: Callable[[Event], None],
        on_hotkey: Callable[[int], None] | None = None,
    ) -> None:
        self._control = open_display(display_name)
        try:
            self._data = open_display(display_name)
        except CaptureError:
            self._control.close()
            raise
        if not self._control.has_extension("RECORD"):
            self._close_connections()
            raise CaptureError("the X server has no RECORD extension: keyboard capture impossible")
        self.clock = ServerClock.anchor(self._control)
        self.keymap = Keymap(self._control)
        self._session = session
        self._switches = switches
        self._emit = emit
        self._on_hotkey = on_hotkey or (lambda _t: None)
        self._context = self._control.record_create_context(
            0,
            [record.AllClients],
            [
                {
                    "core_requests": (0, 0),
                    "core_replies": (0, 0),
                    "ext_requests": (0, 0, 0, 0),
                    "ext_replies": (0, 0, 0, 0),
                    "delivered_events": (0, 0),
                    "device_events": (X.KeyPress, X.MotionNotify),
                    "errors": (0, 0),
                    "client_started": False,
                    "client_died": False,
                }
            ],
        )
        self._control.sync()
        self._thread = threading.Thread(target=self._run, name="x11-input", daemon=True)
        self._mods = 0
        self._pressed: dict[int, tuple[str | None, str | None, str, tuple[str, ...]]] = {}
        self._suppressed: set[int] = set()
        # coalescing state: last kept position/time, and the newest position not yet kept
        self._kept = (-1, -1, 0)
        self._pending: tuple[int, int, int] | None = None
        self.raw_events = 0
        self.screen_size = (
            self._control.screen().width_in_pixels,
            self._control.screen().height_in_pixels,
        )

    def start(self) -> None:
        opcode = self._data.query_extension("RECORD").major_opcode
        request = struct.pack("<BBHI", opcode, _RECORD_ENABLE_CONTEXT, 2, self._context)
        self._data.display.socket.sendall(request)
        self._thread.start()

    def stop(self) -> None:
        """Disable the context from the control connection; the reader sees EndOfData."""
        if self._thread.ident is not None:
            try:
                self._control.record_disable_context(self._context)
                self._control.sync()
            except Exception as exc:  # the server may already be gone
                log.info("record context disable failed: %s", exc)
            self._thread.join(timeout=5)
            if self._thread.is_alive():
                log.warning("x11 input reader did not stop; closing its connection")
                self._data.display.socket.shutdown(socket.SHUT_RDWR)
                self._thread.join(timeout=5)
            self.flush_pending_move()
        self._close_connections()

    def _close_connections(self) -> None:
        for conn in (self._control, self._data):
            try:
                conn.close()
            except Exception as exc:
                log.info("closing X connection: %s", exc)

    def flush_pending_move(self) -> None:
        """Emit the newest coalesced-away pointer position, so a path ends where it stopped."""
        pending = self._pending
        if pending is not None:
            self._pending = None
            x, y, t = pending
            self._kept = (x, y, t)
            self._emit(MouseMove(t=t, session=self._session, x=x, y=y))

    # -- reader thread -------------------------------------------------------------------
    def _run(self) -> None:
        sock = self._data.display.socket
        buf = bytearray()
        try:
            while True:
                # Block while idle; only a coalesced-away position waiting to be said makes us
                # wake up (to emit it once the pointer has rested).
                timeout = None if self._pending is None else REST_S
                ready, _, _ = select.select([sock], [], [], timeout)
                if not ready:
                    self._idle()
                    continue
                chunk = sock.recv(1 << 16)
                if not chunk:
                    return
                buf += chunk
                consumed, ended = self._consume(buf)
                del buf[:consumed]
                if ended:
                    return
                # The server sends each event as it happens; reading in slices lets one
                # wake-up decode many events (timestamps come from the server, not from us).
                time.sleep(READ_SLICE_S)
        except OSError as exc:
            log.info("x11 input connection closed: %s", exc)

    def _idle(self) -> None:
        if self._pending is not None and self._switches.mouse:
            self.flush_pending_move()

    def _consume(self, buf: bytearray) -> tuple[int, bool]:
        """Decode every complete packet in ``buf``; return bytes used and whether data ended."""
        off = 0
        size = len(buf)
        reply = _REPLY.unpack_from
        while size - off >= 32:
            kind = buf[off]
            if kind != 1:  # an X event or error sent to the data connection itself
                length = 32
                if kind & 0x7F == _GENERIC_EVENT:
                    length += 4 * int.from_bytes(buf[off + 4 : off + 8], "little")
                elif kind & 0x7F == _MAPPING_NOTIFY:
                    self.keymap.reload(self._control)
                if size - off < length:
                    break
                off += length
                continue
            category, length, swapped = reply(buf, off)
            total = 32 + 4 * length
            if size - off < total:
                break
            if category == _FROM_SERVER:
                self._device_events(buf, off + 32, off + total, swapped)
            elif category == _END_OF_DATA:
                return off + total, True
            off += total
        return off, False

    def _device_events(self, buf: bytearray, start: int, end: int, swapped: int) -> None:
        unpack = (_DEVICE_BE if swapped else _DEVICE_LE).unpack_from
        switches = self._switches
        to_ns = self.clock.to_ns
        session = self._session
        emit = self._emit
        for pos in range(start, end - 31, 32):
            etype, detail, server_ms, x, y = unpack(buf, pos)
            etype &= 0x7F
            self.raw_events += 1
            if etype == X.MotionNotify:
                if not switches.mouse:
                    continue
                t = to_ns(server_ms)
                kx, ky, kt = self._kept
                dx, dy = x - kx, y - ky
                if (
                    t - kt >= switches.move_interval_ns
                    and dx * dx + dy * dy >= switches.move_min_px_sq
                ):
                    self._kept = (x, y, t)
                    self._pending = None
                    emit(MouseMove(t=t, session=session, x=x, y=y))
                else:
                    self._pending = (x, y, t)
            elif etype == X.KeyPress or etype == X.KeyRelease:
                self._key(etype == X.KeyPress, detail, to_ns(server_ms))
            elif switches.mouse:
                t = to_ns(server_ms)
                if self._pending is not None:
                    self.flush_pending_move()
                if detail in _WHEEL:
                    if etype == X.ButtonPress:
                        wdx, wdy = _WHEEL[detail]
                        emit(Scroll(t=t, session=session, x=x, y=y, dx=wdx, dy=wdy))
                elif etype == X.ButtonPress:
                    emit(MouseDown(t=t, session=session, x=x, y=y, button=detail))
                else:
                    emit(MouseUp(t=t, session=session, x=x, y=y, button=detail))
                self._kept = (x, y, t)

    def _key(self, down: bool, keycode: int, t: int) -> None:
        keymap = self.keymap
        bit = keymap.modifier_bits[keycode]
        if down:
            info = keymap.lookup(keycode, self._mods)
            if bit:
                self._mods = self._mods ^ bit if bit == CAPSLOCK else self._mods | bit
            hotkey = self._switches.hotkey
            held = (
                self._mods
                if hotkey is not None and hotkey[0] & CAPSLOCK
                else self._mods & ~CAPSLOCK
            )
            if hotkey is not None and hotkey[0] == held and hotkey[1] == (info.name or "").lower():
                self._suppressed.add(keycode)
                self._on_hotkey(t)
                return
            mods = MODS_BY_STATE[self._mods]
            self._pressed[keycode] = (info.name, info.char, info.cls, mods)
            name, char, cls = info
        else:
            if bit and bit != CAPSLOCK:
                self._mods &= ~bit
            if keycode in self._suppressed:
                self._suppressed.discard(keycode)
                return
            # press and release may carry different keysyms: pair them by keycode
            pressed = self._pressed.pop(keycode, None)
            if pressed is None:
                info = keymap.lookup(keycode, self._mods)
                name, char, cls, mods = info.name, info.char, info.cls, MODS_BY_STATE[self._mods]
            else:
                name, char, cls, mods = pressed
        switches = self._switches
        if not switches.keys:
            return
        event_type = KeyDown if down else KeyUp
        if switches.text:
            self._emit(
                event_type(
                    t=t,
                    session=self._session,
                    cls=cls,  # type: ignore[arg-type]
                    key=name,
                    char=char,
                    keycode=keycode,
                    mods=mods,  # type: ignore[arg-type]
                )
            )
        else:
            content = cls not in NAMED_KEY_CLASSES
            self._emit(
                event_type(
                    t=t,
                    session=self._session,
                    cls=cls,  # type: ignore[arg-type]
                    key=None if content else name,
                    mods=mods,  # type: ignore[arg-type]
                )
            )
