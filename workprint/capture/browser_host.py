"""The native messaging host: the process Chromium or Firefox starts for the extension
(``chrome.runtime.connectNative``), forwarding its messages to the recorder's browser socket.

Native messaging frames every message as a 4-byte native-endian length and UTF-8 JSON on
stdin/stdout. The browser only starts this host for the extension ids listed in the host
manifest (``workprint browser install``), so no web page can reach it. Each reply carries the
request's ``id`` back; when no recorder runs, the reply says so and nothing is kept anywhere.
"""

from __future__ import annotations

import json
import socket
import struct
import sys
from pathlib import Path
from typing import Any, BinaryIO, Final

from workprint.capture.browser_bridge import MAX_MESSAGE_BYTES
from workprint.home import Home

NO_AGENT: Final = {
    "ok": False,
    "state": "no-agent",
    "error": "the workprint recorder is not running",
}
_MAX_FROM_BROWSER: Final = 1 << 20  # a larger frame is read and dropped, never parsed


def browser_socket(home: Home) -> Path:
    """Where the recorder listens for the native host."""
    return home.runtime_dir / "browser.sock"


def browser_secret_file(home: Home) -> Path:
    """The per-install secret the native host presents to the recorder."""
    return home.data_dir / "browser.secret"


class RecorderLink:
    """One authenticated connection to the recorder, reopened on demand."""

    def __init__(self, home: Home) -> None:
        self._home = home
        self._sock: socket.socket | None = None
        self._buf = b""

    def ask(self, message: dict[str, Any]) -> dict[str, Any]:
        """Send one message, return the recorder's reply (``NO_AGENT`` if it is not running)."""
        for _ in range(2):  # a recorder restarted since the last message: reconnect once
            if self._sock is None and not self._connect():
                return dict(NO_AGENT)
            try:
                return self._exchange(message)
            except (OSError, ValueError):
                self.close()
        return dict(NO_AGENT)

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
        self._sock = None
        self._buf = b""

    def _connect(self) -> bool:
        path = browser_socket(self._home)
        secret_path = browser_secret_file(self._home)
        try:
            secret = secret_path.read_text(encoding="ascii").strip()
        except (OSError, UnicodeDecodeError):
            return False
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(5)
        try:
            sock.connect(str(path))
        except OSError:
            sock.close()
            return False
        self._sock = sock
        try:
            reply = self._exchange({"op": "hello", "secret": secret})
        except (OSError, ValueError):
            self.close()
            return False
        if not reply.get("ok"):
            self.close()
            return False
        return True

    def _exchange(self, message: dict[str, Any]) -> dict[str, Any]:
        assert self._sock is not None
        self._sock.sendall(json.dumps(message, separators=(",", ":")).encode() + b"\n")
        while b"\n" not in self._buf:
            chunk = self._sock.recv(65536)
            if not chunk:
                raise ValueError("recorder closed the connection")
            self._buf += chunk
        line, _, self._buf = self._buf.partition(b"\n")
        reply = json.loads(line)
        if not isinstance(reply, dict):
            raise ValueError("garbled reply")
        return reply


def read_frame(stream: BinaryIO) -> bytes | None:
    """One native messaging frame; None at end of input (the browser closed the port)."""
    header = stream.read(4)
    if len(header) < 4:
        return None
    (length,) = struct.unpack("=I", header)
    if length > _MAX_FROM_BROWSER:
        remaining = length
        while remaining:
            chunk = stream.read(min(remaining, 1 << 16))
            if not chunk:
                return None
            remaining -= len(chunk)
        return b""
    data = stream.read(length)
    return data if len(data) == length else None


def write_frame(stream: BinaryIO, body: dict[str, Any]) -> None:
    data = json.dumps(body, separators=(",", ":")).encode()
    stream.write(struct.pack("=I", len(data)) + data)
    stream.flush()


def handle(link: RecorderLink, frame: bytes) -> dict[str, Any]:
    """The reply to one frame from the extension."""
    if len(frame) > MAX_MESSAGE_BYTES or not frame:
        return {"ok": False, "error": f"message empty or larger than {MAX_MESSAGE_BYTES} bytes"}
    try:
        message = json.loads(frame)
    except (ValueError, RecursionError):
        return {"ok": False, "error": "bad message: not JSON"}
    if not isinstance(message, dict):
        return {"ok": False, "error": "bad message: not a JSON object"}
    request_id = message.pop("id", None)
    reply = link.ask(message)
    if isinstance(request_id, int | str):
        reply["id"] = request_id
    return reply


def serve(home: Home, stdin: BinaryIO | None = None, stdout: BinaryIO | None = None) -> int:
    """Forward frames until the browser closes the port."""
    source = stdin if stdin is not None else sys.stdin.buffer
    sink = stdout if stdout is not None else sys.stdout.buffer
    link = RecorderLink(home)
    try:
        while (frame := read_frame(source)) is not None:
            write_frame(sink, handle(link, frame))
    finally:
        link.close()
    return 0


if __name__ == "__main__":  # the script `workprint browser install` writes runs this
    sys.exit(serve(Home.resolve()))
