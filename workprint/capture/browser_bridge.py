"""The recorder's browser endpoint: a Unix socket the native messaging host forwards the
extension's messages to (docs/browser.md has the protocol and why native messaging).

Stdlib and msgspec only (it runs inside the recorder). The socket is 0600 in the 0700 runtime
directory and checks the peer's uid; the first line of a connection must carry the per-install
secret. Then one JSON object per line each way. A message is judged whole: one bad event
rejects the message with the reason and nothing of it is kept.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import logging
import secrets
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final, cast

import msgspec

from workprint.crypto.private_file import load_or_create_secret
from workprint.errors import WorkprintError
from workprint.events import WEB_EVENTS, Event
from workprint.local_socket import OwnerOnlySocketServer, peer_is_owner

log = logging.getLogger(__name__)

MAX_MESSAGE_BYTES: Final = 64 * 1024
MAX_EVENTS_PER_MESSAGE: Final = 256
MAX_CLOCK_SKEW_MS: Final = 24 * 3600 * 1000  # an event further from now than this is hostile
_WEB_TYPES: Final = {str(cls.__struct_config__.tag): cls for cls in WEB_EVENTS}
_FORBIDDEN_KEYS: Final = frozenset({"t", "session", "seq"})

EventSink = Callable[[list[Event]], None]
Handler = Callable[[dict[str, Any]], dict[str, Any]]


class BridgeError(WorkprintError):
    """The browser secret file is unusable."""


def load_or_create_browser_secret(path: Path, *, create: bool = True) -> bytes:
    """The per-install secret the native host presents to the recorder (0600 file)."""
    return load_or_create_secret(
        path,
        what="browser bridge secret",
        create=create,
        new_content=lambda: (secrets.token_hex(32) + "\n").encode("ascii"),
        parse=lambda data: data.strip(),
        error=BridgeError,
    )


class RejectedMessage(ValueError):
    """A message from the browser side that is not acceptable; ``str()`` is the reason."""


def parse_events(message: dict[str, Any], session: str, now_ms: float) -> list[Event]:
    """The ``events`` of an ``{"op": "events"}`` message as browser events of ``session``.

    Each wire event is the JSON Lines form of a browser event with ``t_ms`` (milliseconds since
    the epoch, fractions allowed) instead of ``t``/``session``/``seq``, which only the recorder
    sets. Raises ``RejectedMessage`` naming the first bad event."""
    items = message.get("events")
    if not isinstance(items, list):
        raise RejectedMessage("'events' must be a list")
    if len(items) > MAX_EVENTS_PER_MESSAGE:
        raise RejectedMessage(f"{len(items)} events, more than {MAX_EVENTS_PER_MESSAGE}")
    events: list[Event] = []
    for index, item in enumerate(items):
        try:
            events.append(_parse_event(item, session, now_ms))
        except RejectedMessage as exc:
            raise RejectedMessage(f"event {index}: {exc}") from None
    return events


def _parse_event(item: object, session: str, now_ms: float) -> Event:
    if not isinstance(item, dict):
        raise RejectedMessage("not an object")
    tag = item.get("type")
    cls = _WEB_TYPES.get(tag) if isinstance(tag, str) else None
    if cls is None:
        raise RejectedMessage(f"type {tag!r} is not a browser event type")
    forbidden = _FORBIDDEN_KEYS.intersection(item)
    if forbidden:
        raise RejectedMessage(f"{', '.join(sorted(forbidden))} may only be set by the recorder")
    t_ms = item.get("t_ms")
    if isinstance(t_ms, bool) or not isinstance(t_ms, int | float):
        raise RejectedMessage("t_ms must be a number")
    if not abs(t_ms - now_ms) <= MAX_CLOCK_SKEW_MS:
        raise RejectedMessage("t_ms is more than a day away from the recorder's clock")
    fields = {k: v for k, v in item.items() if k not in ("type", "t_ms")}
    unknown = set(fields).difference(cls.__struct_fields__)
    if unknown:
        raise RejectedMessage(f"unknown fields for {tag}: {', '.join(sorted(unknown))}")
    fields["t"] = round(t_ms * 1_000_000)
    fields["session"] = session
    try:
        event = cast(Event, msgspec.convert(fields, cls))
    except msgspec.ValidationError as exc:
        raise RejectedMessage(str(exc)) from None
    return event


class BrowserEndpoint(OwnerOnlySocketServer):
    """Serves the native host(s) on ``path``: ``on_events`` receives accepted events (from the
    connection's thread), ``handler`` answers every other op (state, pause, resume)."""

    def __init__(
        self,
        path: Path,
        secret: bytes,
        session: str,
        on_events: EventSink,
        handler: Handler,
    ) -> None:
        self._secret = secret
        self._session = session
        self._on_events = on_events
        self._handler = handler
        self.accepted = 0
        self.rejected: dict[str, int] = {}
        path.unlink(missing_ok=True)  # the control socket already proved no live agent owns it
        super().__init__(path, "browser")

    def _accepted(self, conn: socket.socket) -> None:
        threading.Thread(
            target=self._connection, args=(conn,), name="browser-conn", daemon=True
        ).start()

    def _connection(self, conn: socket.socket) -> None:
        with conn:
            try:
                self._talk(conn)
            except OSError:
                pass  # the host went away
            except Exception:
                log.exception("browser connection failed")

    def _talk(self, conn: socket.socket) -> None:
        if not peer_is_owner(conn):
            _reply(conn, {"ok": False, "error": "permission denied: another user"})
            return
        conn.settimeout(1.0)
        reader = _LineReader(conn)
        hello = self._next(reader, conn, authenticated=False)
        if hello is None:
            return
        offered = hello.get("secret")
        if (
            hello.get("op") != "hello"
            or not isinstance(offered, str)
            or not hmac.compare_digest(offered.encode(), self._secret)
        ):
            self._reject(conn, "wrong secret: the first message must be a hello with the secret")
            return
        _reply(conn, {"ok": True, "op": "hello"})
        while not self._stop.is_set():
            message = self._next(reader, conn, authenticated=True)
            if message is None:
                return
            _reply(conn, self._answer(message))

    def _next(
        self, reader: _LineReader, conn: socket.socket, *, authenticated: bool
    ) -> dict[str, Any] | None:
        """The next well-formed message; a malformed one is answered and skipped (once
        authenticated) or ends the connection (before)."""
        while not self._stop.is_set():
            try:
                line = reader.line()
            except TimeoutError:
                continue
            except RejectedMessage as exc:
                self._reject(conn, str(exc))
                if not authenticated:
                    return None
                continue
            if line is None:
                return None
            try:
                message = json.loads(line)
            except (ValueError, RecursionError):
                message = None
            if isinstance(message, dict) and isinstance(message.get("op"), str):
                return message
            self._reject(conn, "bad message: expected a JSON object with a string 'op'")
            if not authenticated:
                return None
        return None

    def _answer(self, message: dict[str, Any]) -> dict[str, Any]:
        op = message["op"]
        if op != "events":
            return self._handler(message)
        try:
            events = parse_events(message, self._session, time.time() * 1000)
        except RejectedMessage as exc:
            return self._rejection(str(exc))
        self._on_events(events)
        self.accepted += len(events)
        reply = self._handler({"op": "state"})
        reply["accepted"] = len(events)
        return reply

    def _rejection(self, reason: str) -> dict[str, Any]:
        kind = reason.split(":", 1)[0]
        self.rejected[kind] = self.rejected.get(kind, 0) + 1
        log.warning("browser message rejected: %s", reason[:200])
        return {"ok": False, "error": reason}

    def _reject(self, conn: socket.socket, reason: str) -> None:
        with contextlib.suppress(OSError):
            _reply(conn, self._rejection(reason))


class _LineReader:
    """Newline-delimited messages from a socket, each at most ``MAX_MESSAGE_BYTES``."""

    def __init__(self, conn: socket.socket) -> None:
        self._conn = conn
        self._buf = b""

    def line(self) -> bytes | None:
        """The next line; ``RejectedMessage`` for one too long, which is read to its end and
        dropped, so the messages after it are still understood."""
        oversized = False
        while True:
            end = self._buf.find(b"\n")
            if end >= 0:
                line, self._buf = self._buf[:end], self._buf[end + 1 :]
                if oversized or len(line) > MAX_MESSAGE_BYTES:
                    raise RejectedMessage(f"message larger than {MAX_MESSAGE_BYTES} bytes")
                return line
            if len(self._buf) > MAX_MESSAGE_BYTES:
                oversized, self._buf = True, b""
            chunk = self._conn.recv(65536)
            if not chunk:
                return None
            self._buf += chunk


def _reply(conn: socket.socket, body: dict[str, Any]) -> None:
    conn.sendall(json.dumps(body, separators=(",", ":")).encode() + b"\n")
