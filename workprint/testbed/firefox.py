"""Debian's Firefox ESR driven over WebDriver BiDi, the protocol Firefox speaks itself: no
geckodriver and no patched Playwright build (neither can be downloaded here). A small
synchronous client: commands with ids, events kept until asked for, errors raised with the
message BiDi gave."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path
from typing import Any, Final

from websockets.sync.client import ClientConnection, connect

from workprint.testbed.ports import free_port

FIREFOX: Final = "/usr/bin/firefox-esr"
# --remote-allow-system-access (test only, like Chromium's --enable-unsafe-extension-debugging):
# BiDi may then open the extension's own moz-extension:// pages, where a test reads its state.
FIREFOX_ARGS: Final = ["--headless", "--no-remote", "--remote-allow-system-access"]
# The moz-extension:// origin of an add-on is random per profile unless this pref fixes it;
# a test opens the extension's own pages (its storage, its APIs) at a known URL that way.
EXTENSION_UUID: Final = "3f1c9a52-7d0e-4b8a-9e61-5a2f0c7b4d18"
# Nothing else is needed in user.js: with remote control on, Firefox applies its own test prefs
# (remote.prefs.recommended: no first run, updates, telemetry, default-browser check), and an
# add-on installed through BiDi is temporary, so it needs no signature
# (xpinstall.signatures.required) and no experiments pref.
_LISTENING = re.compile(rb"WebDriver BiDi listening on (ws://\S+)")


class BidiError(RuntimeError):
    """A BiDi command failed; the text is the error code and the message Firefox sent."""


def write_profile(
    profile: Path, extension_id: str, extra_prefs: dict[str, object] | None = None
) -> None:
    """A fresh profile directory whose ``user.js`` fixes the extension's origin (and sets
    ``extra_prefs``)."""
    profile.mkdir(parents=True, exist_ok=True)
    prefs: dict[str, object] = {
        "extensions.webextensions.uuids": json.dumps({extension_id: EXTENSION_UUID})
    }
    prefs.update(extra_prefs or {})
    lines = [f"user_pref({json.dumps(k)}, {json.dumps(v)});" for k, v in prefs.items()]
    (profile / "user.js").write_text("\n".join(lines) + "\n", encoding="utf-8")


class BidiSession:
    """One WebDriver BiDi session over a websocket. A reader thread sorts what arrives into
    command replies (by id) and events (kept in order until ``wait_event`` takes them)."""

    def __init__(self, url: str) -> None:
        self._stack = ExitStack()  # websockets wants its connection used as a context
        self._ws: ClientConnection = self._stack.enter_context(
            connect(url, proxy=None, max_size=None, compression=None)
        )
        self._lock = threading.Condition()
        self._replies: dict[int, dict[str, Any]] = {}
        self._events: list[dict[str, Any]] = []
        self._next_id = 1
        self._closed: str | None = None
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        try:
            for raw in self._ws:
                message = json.loads(raw)
                with self._lock:
                    if isinstance(message.get("id"), int):
                        self._replies[message["id"]] = message
                    elif message.get("type") == "event":
                        self._events.append(message)
                    self._lock.notify_all()
        except Exception as exc:  # the socket closed under us: waiting callers must hear it
            reason = f"{type(exc).__name__}: {exc}"
        else:
            reason = "the browser closed the connection"
        with self._lock:
            self._closed = reason
            self._lock.notify_all()

    def command(self, method: str, params: dict[str, Any], timeout: float = 30) -> Any:
        """Sends one command and returns its ``result``; raises ``BidiError`` on an error."""
        with self._lock:
            command_id = self._next_id
            self._next_id += 1
        self._ws.send(json.dumps({"id": command_id, "method": method, "params": params}))
        deadline = time.monotonic() + timeout
        with self._lock:
            while command_id not in self._replies:
                if self._closed is not None:
                    raise BidiError(f"{method}: {self._closed}")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise BidiError(f"{method}: no answer within {timeout:g} s")
                self._lock.wait(left)
            reply = self._replies.pop(command_id)
        if reply.get("type") == "error":
            raise BidiError(f"{method}: {reply.get('error')}: {reply.get('message')}")
        return reply.get("result", {})

    def wait_event(
        self,
        method: str,
        accept: Callable[[dict[str, Any]], bool] = lambda params: True,
        timeout: float = 30,
    ) -> dict[str, Any]:
        """Takes the first event ``method`` (received so far or later) whose params pass."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                for index, event in enumerate(self._events):
                    if event.get("method") == method and accept(event.get("params", {})):
                        del self._events[index]
                        params: dict[str, Any] = event.get("params", {})
                        return params
                left = deadline - time.monotonic()
                if self._closed is not None or left <= 0:
                    raise BidiError(f"no {method} event within {timeout:g} s")
                self._lock.wait(left)

    def close(self) -> None:
        self._stack.close()
        self._reader.join(timeout=5)


class Firefox:
    """A running headless Firefox and its BiDi session, with the few actions tests need."""

    def __init__(self, process: subprocess.Popen[bytes], bidi: BidiSession) -> None:
        self.process = process
        self.bidi = bidi

    def install_extension(self, path: Path) -> str:
        """Installs an unpacked extension directory as a temporary add-on (needs no signing);
        returns its add-on id."""
        result = self.bidi.command(
            "webExtension.install", {"extensionData": {"type": "path", "path": str(path)}}
        )
        return str(result["extension"])

    def new_tab(self) -> str:
        return str(self.bidi.command("browsingContext.create", {"type": "tab"})["context"])

    def navigate(self, context: str, url: str) -> None:
        """Loads ``url`` in the tab and waits for the page's load event."""
        self.bidi.command(
            "browsingContext.navigate", {"context": context, "url": url, "wait": "complete"}
        )

    def evaluate(self, context: str, expression: str) -> Any:
        """Runs ``expression`` in the page (awaiting a promise) and returns its value as JSON
        types (strings, numbers, booleans, null, lists and objects with string keys)."""
        result = self.bidi.command(
            "script.evaluate",
            {
                "expression": expression,
                "target": {"context": context},
                "awaitPromise": True,
                "resultOwnership": "none",
            },
        )
        if result.get("type") == "exception":
            details = result.get("exceptionDetails", {})
            raise BidiError(f"script threw: {details.get('text', details)}")
        return _plain(result["result"])

    def click(self, context: str, selector: str) -> None:
        """A real pointer click (trusted events) in the middle of the element ``selector``."""
        box = self.evaluate(
            context,
            f"(() => {{ const el = document.querySelector({json.dumps(selector)});"
            " el.scrollIntoView({block: 'center'});"
            " const r = el.getBoundingClientRect();"
            " return [r.x + r.width / 2, r.y + r.height / 2]; })()",
        )
        x, y = (round(v) for v in box)
        actions = [
            {"type": "pointerMove", "x": x, "y": y, "duration": 0},
            {"type": "pointerDown", "button": 0},
            {"type": "pointerUp", "button": 0},
        ]
        self._perform(context, {"type": "pointer", "id": "mouse", "actions": actions})

    def type_text(self, context: str, text: str) -> None:
        """Real key presses for each character, into whatever has the focus."""
        actions: list[dict[str, str]] = []
        for char in text:
            actions += [{"type": "keyDown", "value": char}, {"type": "keyUp", "value": char}]
        self._perform(context, {"type": "key", "id": "keyboard", "actions": actions})

    def _perform(self, context: str, source: dict[str, Any]) -> None:
        self.bidi.command("input.performActions", {"context": context, "actions": [source]})
        self.bidi.command("input.releaseActions", {"context": context})


def _plain(value: dict[str, Any]) -> Any:
    """A BiDi remote value as plain JSON types."""
    kind = value.get("type")
    if kind in ("undefined", "null"):
        return None
    if kind in ("string", "boolean"):
        return value["value"]
    if kind == "number":
        number = value["value"]
        return number if isinstance(number, int | float) else float(number)  # "NaN", "-0"…
    if kind == "array":
        return [_plain(item) for item in value.get("value", [])]
    if kind == "object":
        return {str(k): _plain(v) for k, v in value.get("value", [])}
    raise BidiError(f"cannot turn a {kind} into JSON")


@contextmanager
def firefox(
    profile: Path, *, env: dict[str, str] | None = None, startup_timeout: float = 60
) -> Iterator[Firefox]:
    """Starts headless Firefox with ``profile`` (see ``write_profile``) in its own process group,
    opens a BiDi session, and on exit ends the session and kills the whole group."""
    if shutil.which(FIREFOX) is None:
        raise FileNotFoundError(f"{FIREFOX} is not installed (apt-get install firefox-esr)")
    port = free_port()
    log = profile.parent / f"{profile.name}-firefox.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [FIREFOX, *FIREFOX_ARGS, "--profile", str(profile), f"--remote-debugging-port={port}"],
            env=dict(os.environ if env is None else env),
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    bidi: BidiSession | None = None
    try:
        url = _wait_listening(process, log, startup_timeout)
        bidi = BidiSession(f"{url}/session")
        bidi.command("session.new", {"capabilities": {"alwaysMatch": {}}})
        yield Firefox(process, bidi)
    finally:
        if bidi is not None:
            with suppress(BidiError):
                bidi.command("session.end", {}, timeout=5)
            bidi.close()
        _stop_group(process)


def _wait_listening(process: subprocess.Popen[bytes], log: Path, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = _LISTENING.search(log.read_bytes())
        if found:
            return found.group(1).decode()
        if process.poll() is not None:
            tail = log.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"firefox exited ({process.returncode}) before listening: {tail}")
        time.sleep(0.1)
    raise RuntimeError(f"firefox did not open its BiDi port within {timeout:g} s (log: {log})")


def _stop_group(process: subprocess.Popen[bytes], timeout: float = 10) -> None:
    """Asks Firefox to quit, kills what is left of its process group (content processes, and
    the native host if it did not leave when its stdin closed), and waits until none is left."""
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    with suppress(subprocess.TimeoutExpired):
        process.wait(timeout=timeout)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    process.wait(timeout=timeout)
