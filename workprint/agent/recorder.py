"""The recorder agent: wires capture → edge policy → spool, and answers the control socket.

Threads: the X input reader and the window watcher only decode and append kept events to
in-memory queues; this loop, every ``flush_interval_ms``, merges them in time order, lets the edge
policy decide what may be kept, and writes one encrypted batch to the spool. Events newer than
``HOLD_NS`` wait for the next round, so a focus change read a little late on its own connection
still governs the keys typed after it. Nothing out of policy ever reaches the disk.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

from workprint import __version__
from workprint.agent.browser_state import browser_state, enrolled_portal
from workprint.agent.control_server import ControlServer
from workprint.capture import CaptureSwitches, X11InputCapture, X11WindowWatcher
from workprint.capture.browser_bridge import BrowserEndpoint, load_or_create_browser_secret
from workprint.capture.browser_host import browser_secret_file, browser_socket
from workprint.capture.x11_keymap import MODIFIER_BITS
from workprint.crypto import load_or_create_device_key
from workprint.errors import WorkprintError
from workprint.events import (
    ConsentChange,
    Event,
    Pause,
    Resume,
    SessionStart,
    SessionStop,
)
from workprint.home import Home
from workprint.policy import (
    EdgePolicy,
    Policy,
    PolicyError,
    load_consent,
    load_policy,
    parse_hotkey,
)
from workprint.spool import Spool, load_or_create_device_id
from workprint.spool.collector_config import load_enrollment

if TYPE_CHECKING:
    from workprint.spool.uploader import Uploader

log = logging.getLogger(__name__)

HOLD_NS = 300_000_000


@dataclass
class RecorderSummary:
    session: str
    raw_events: int = 0
    captured: int = 0
    spooled: int = 0
    batches: int = 0
    dropped: dict[str, int] = field(default_factory=dict)


class Recorder:
    """One recording session on one X display, until ``stop()`` or a signal."""

    def __init__(self, home: Home, display: str | None = None) -> None:
        self.home = home.ensure()
        self.display = display if display is not None else os.environ.get("DISPLAY")
        self.policy: Policy = load_policy(home.policy_file if home.policy_file.exists() else None)
        self.consent = load_consent(home.consent_file)
        self._consent_mtime = _mtime(home.consent_file)
        self.session = uuid.uuid4().hex
        self.device_id = load_or_create_device_id(home.device_id_file)
        self.summary = RecorderSummary(self.session)
        self.paused = False
        self.switches = CaptureSwitches()
        capture = self.policy.capture
        self.switches.set_coalescing(capture.mouse_move_max_hz, capture.mouse_move_min_px)
        if capture.pause_hotkey:
            hotkey = parse_hotkey(capture.pause_hotkey)
            mask = sum(MODIFIER_BITS[m] for m in hotkey.mods)
            self.switches.hotkey = (mask, hotkey.key.lower())
        self.portal_sites = enrolled_portal(home)  # browser: the collector's own web portal
        self.gate = EdgePolicy(
            self.policy, frozenset(self.consent.granted), excluded_sites=self.portal_sites
        )
        self._update_switches()
        self._input: deque[Event] = deque()
        self._context: deque[Event] = deque()
        self._carry: list[Event] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()  # guards pause/consent changes against each other
        self._spool: Spool | None = None
        self._control: ControlServer | None = None
        self._input_capture: X11InputCapture | None = None
        self._watcher: X11WindowWatcher | None = None
        self._uploader: Uploader | None = None  # upload (issue 3): set in run() if enrolled
        self._browser: BrowserEndpoint | None = None  # browser (issue 6): the native host's end

    # -- state shared with the control socket -------------------------------------------
    def _update_switches(self) -> None:
        scopes = self.consent.effective_scopes()
        live = not self.paused
        self.switches.keys = live and "input-timing" in scopes
        self.switches.text = self.switches.keys and "text-content" in scopes
        self.switches.mouse = live and "mouse" in scopes

    def pause(self, t: int | None = None, reason: str = "user") -> bool:
        with self._lock:
            if self.paused:
                return False
            self.paused = True
            self._update_switches()
            self._context.append(Pause(t=t or time.time_ns(), session=self.session, reason=reason))
        log.info("paused (%s)", reason)
        return True

    def resume(self, reason: str = "user", t: int | None = None) -> bool:
        with self._lock:
            if not self.paused:
                return False
            self.paused = False
            self._context.append(Resume(t=t or time.time_ns(), session=self.session, reason=reason))
            self._update_switches()
        # a command waits until the focus is said again; the hotkey (on the input thread) not
        self._refresh_focus(wait=0.0 if reason == "hotkey" else 1.0)
        log.info("resumed (%s)", reason)
        return True

    def _refresh_focus(self, wait: float = 0.0) -> None:
        """Say again which window has focus: focus changes while paused or out of scope were
        not kept, and what follows needs its context (or its gap, if excluded)."""
        if self._watcher is not None:
            self._watcher.refresh(wait)

    def toggle_pause(self, t: int) -> None:
        if self.paused:
            self.resume("hotkey", t)  # the key's own server time: input is read in slices
        else:
            self.pause(t, "hotkey")

    def reload_consent(self) -> bool:
        """Re-read the consent record; a change takes effect for the very next event."""
        with self._lock:
            self._consent_mtime = _mtime(self.home.consent_file)
            fresh = load_consent(self.home.consent_file)
            if set(fresh.granted) == set(self.consent.granted):
                return False
            self.consent = fresh
            self._update_switches()
            self._context.append(
                ConsentChange(
                    t=time.time_ns(),
                    session=self.session,
                    scopes=tuple(sorted(fresh.granted)),
                    policy_version=self.policy.version,
                )
            )
        self._refresh_focus(wait=1.0)
        if self._uploader is not None:  # upload (issue 3): the collector must know it first
            self._uploader.consent_changed()
        log.info("consent changed: %s", ",".join(sorted(fresh.granted)) or "nothing granted")
        return True

    def status(self) -> dict[str, Any]:
        scopes = sorted(self.consent.effective_scopes())
        if not scopes:
            state = "no-consent"
        elif self.paused:
            state = "paused"
        elif self.gate.excluded:
            state = "excluded"
        else:
            state = "recording"
        spool = self._spool
        stats = spool.stats() if spool is not None else None
        capture = self._input_capture
        return {
            "ok": True,
            "state": state,
            "pid": os.getpid(),
            "version": __version__,
            "session": self.session,
            "device": self.device_id,
            "display": self.display,
            "scopes": scopes,
            "paused": self.paused,
            "excluded": self.gate.excluded,
            "raw_events": capture.raw_events if capture else 0,
            "captured": self.summary.captured,
            "spooled": self.summary.spooled,
            "dropped_by_policy": dict(self.gate.dropped),
            "spool": msgspec.structs.asdict(stats) if stats else None,
            "upload": self._uploader.status() if self._uploader is not None else None,
        }

    def reload_policy(self) -> dict[str, Any]:
        """Re-read the policy file (the portal's exclusions are merged into it): the gate uses
        its exclusions and sites from the next batch on; capture settings at the next start."""
        try:
            fresh = load_policy(self.home.policy_file if self.home.policy_file.exists() else None)
        except PolicyError as exc:
            return {"ok": False, "error": str(exc)}
        with self._lock:
            changed = fresh != self.policy
            self.policy = self.gate.policy = fresh
        return {"ok": True, "changed": changed}

    def handle_command(self, request: dict[str, Any]) -> dict[str, Any]:
        cmd = request["cmd"]
        if cmd == "status":
            return self.status()
        if cmd == "pause":
            return {"ok": True, "changed": self.pause()}
        if cmd == "resume":
            return {"ok": True, "changed": self.resume()}
        if cmd == "reload-consent":
            return {"ok": True, "changed": self.reload_consent()}
        if cmd == "reload-policy":
            return self.reload_policy()
        if cmd == "stop":
            self.stop()
            return {"ok": True}
        return {"ok": False, "error": f"unknown command {cmd!r}"}

    # -- the browser extension (issue 6, docs/browser.md) ---------------------------------
    def _browser_events(self, events: list[Event]) -> None:
        """Browser events join the input queue: the same merge, gate and spool as OS input."""
        self._input.extend(events)

    def browser_request(self, request: dict[str, Any]) -> dict[str, Any]:
        """What the extension asks through the native host: its state, pause and resume."""
        op = request["op"]
        if op == "pause":
            self.pause(reason="browser")
        elif op == "resume":
            self.resume(reason="browser")
        elif op != "state":
            return {"ok": False, "error": f"unknown op {op!r}"}
        return browser_state(
            self.policy, self.consent.effective_scopes(), self.paused, self.portal_sites
        )

    # -- the loop ------------------------------------------------------------------------
    def stop(self) -> None:
        self._stop.set()

    def open(self) -> None:
        """Open the spool, the control socket and the X connections; nothing runs yet.

        Every failure here (a bad key file, a live agent, no display) is a one-line error and
        leaves nothing open."""
        key = load_or_create_device_key(self.home.device_key_file)
        spool_policy = self.policy.spool
        self._spool = Spool.open(
            self.home.spool_file,
            key,
            device_id=self.device_id,
            max_bytes=spool_policy.max_bytes,
            max_age_s=spool_policy.max_age_days * 86400,
        )
        try:
            self._control = ControlServer(self.home.control_socket, self.handle_command)
        except BaseException:
            self._spool.close()
            raise
        try:
            self._browser = BrowserEndpoint(
                browser_socket(self.home),
                load_or_create_browser_secret(browser_secret_file(self.home)),
                self.session,
                self._browser_events,
                self.browser_request,
            )
            self._input_capture = X11InputCapture(
                self.display,
                session=self.session,
                switches=self.switches,
                emit=self._input.append,
                on_hotkey=self.toggle_pause,
            )
            self._watcher = X11WindowWatcher(
                self.display,
                session=self.session,
                clock=self._input_capture.clock,
                emit=self._context.append,
            )
        except BaseException:
            if self._input_capture is not None:
                self._input_capture.stop()
                self._input_capture = None
            if self._browser is not None:
                self._browser.stop()
                self._browser = None
            self._control.stop()
            self._spool.close()
            raise

    def run(self, duration: float | None = None, install_signals: bool = True) -> RecorderSummary:
        """Record until ``stop()``, SIGINT/SIGTERM or ``duration`` seconds; opens if needed."""
        if install_signals:
            for sig in (signal.SIGINT, signal.SIGTERM):
                signal.signal(sig, lambda *_: self.stop())
        if self._input_capture is None:
            self.open()
        capture, watcher, control, spool = (
            self._input_capture,
            self._watcher,
            self._control,
            self._spool,
        )
        assert capture is not None and watcher is not None
        assert control is not None and spool is not None
        width, height = capture.screen_size
        self._context.append(
            SessionStart(
                t=time.time_ns(),
                session=self.session,
                device=self.device_id,
                host=socket.gethostname(),
                screen_w=width,
                screen_h=height,
                scopes=tuple(sorted(self.consent.granted)),
            )
        )
        self._uploader = _open_uploader(self.home, spool)  # upload (issue 3)
        control.start()
        if self._browser is not None:
            self._browser.start()
        capture.start()
        watcher.start()
        log.info("recording session %s on display %s", self.session, self.display)
        deadline = time.monotonic() + duration if duration else None
        interval = self.policy.capture.flush_interval_ms / 1000
        next_consent_check = time.monotonic() + 1
        try:
            while not self._stop.wait(interval):
                self._flush(hold=True)
                now = time.monotonic()
                if now >= next_consent_check:
                    next_consent_check = now + 1
                    if _mtime(self.home.consent_file) != self._consent_mtime:
                        self.reload_consent()
                if deadline is not None and now >= deadline:
                    break
        finally:
            if self._browser is not None:
                self._browser.stop()
            capture.stop()
            watcher.stop()
            self._context.append(SessionStop(t=time.time_ns(), session=self.session))
            self._flush(hold=False)
            self.summary.raw_events = capture.raw_events
            self.summary.dropped = dict(self.gate.dropped)
            control.stop()
            if self._uploader is not None:  # upload (issue 3): finish the batch in flight
                self._uploader.stop()
                self._uploader.client.close()
            spool.close()
            log.info(
                "session %s ended: %d raw, %d captured, %d spooled",
                self.session,
                self.summary.raw_events,
                self.summary.captured,
                self.summary.spooled,
            )
        return self.summary

    def _flush(self, *, hold: bool) -> None:
        """Merge, gate and spool everything captured so far (but the last HOLD_NS if hold)."""
        fresh: list[Event] = _drain(self._context)
        fresh.extend(_drain(self._input))
        if not fresh and not self._carry:
            return
        self.summary.captured += len(fresh)
        events = self._carry + fresh
        events.sort(key=_by_time)  # stable: at equal t, context (focus) precedes input
        if hold:
            watermark = time.time_ns() - HOLD_NS
            cut = len(events)
            while cut and events[cut - 1].t > watermark:
                cut -= 1
            events, self._carry = events[:cut], events[cut:]
        else:
            self._carry = []
        kept = self.gate.admit(events)
        if kept and self._spool is not None:
            self._spool.append(kept)
            self.summary.spooled += len(kept)
            self.summary.batches += 1


def _open_uploader(home: Home, spool: Spool) -> Uploader | None:
    """Upload (issue 3): start uploading if this device is enrolled; a broken enrollment is
    logged and recording goes on (the spool keeps everything)."""
    try:
        if load_enrollment(home) is None:
            return None  # not enrolled: keep the HTTP client out of the recorder's memory
        from workprint.spool.uploader import Uploader

        uploader = Uploader.for_home(home, spool)
    except WorkprintError as exc:
        log.error("not uploading: %s", exc)
        return None
    if uploader is not None:
        uploader.start()
        log.info("uploading to %s", uploader.url)
    return uploader


def _by_time(event: Event) -> int:
    return event.t


def _drain(queue: deque[Event]) -> list[Event]:
    """Take what is in a queue that another thread appends to, without losing an append."""
    popleft = queue.popleft
    return [popleft() for _ in range(len(queue))]


def _mtime(path: Path) -> int | None:
    try:
        return path.stat().st_mtime_ns
    except FileNotFoundError:
        return None
