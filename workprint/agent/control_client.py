"""Client side of the recorder's control socket: one JSON object per line each way.

Commands that change what may be recorded (a consent grant or revocation) tell a running
recorder at once through this, so it never keeps recording on a stale consent record. No
recorder running is a normal state, not an error: ``send_command`` returns None.
"""

from __future__ import annotations

import json
import socket
from typing import Any, Final

from workprint.errors import WorkprintError
from workprint.home import Home

TIMEOUT_S: Final = 2.0
MAX_REPLY_BYTES: Final = 1 << 20


def send_command(home: Home, cmd: str, **args: Any) -> dict[str, Any] | None:
    """Send ``{"cmd": cmd, **args}`` and return the reply object (with "ok"), or None when no
    recorder is listening. A garbled, missing or late reply is a one-line ``WorkprintError``."""
    path = home.control_socket
    request = json.dumps({"cmd": cmd, **args}, separators=(",", ":")).encode() + b"\n"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(TIMEOUT_S)
        try:
            sock.connect(str(path))
        except (FileNotFoundError, ConnectionRefusedError, NotADirectoryError):
            return None  # no socket, or one a stopped recorder left behind
        except TimeoutError:
            raise _error(path, f"no answer within {TIMEOUT_S:g} s") from None
        except OSError as exc:
            raise _error(path, f"cannot connect: {exc.strerror or exc}") from None
        try:
            sock.sendall(request)
            line = _read_line(sock)
        except TimeoutError:
            raise _error(path, f"no reply within {TIMEOUT_S:g} s") from None
        except OSError as exc:
            raise _error(path, f"connection failed: {exc.strerror or exc}") from None
    if line is None:
        raise _error(path, "the recorder closed the connection without a reply")
    try:
        reply = json.loads(line)
    except (ValueError, RecursionError):
        raise _error(path, f"garbled reply: {line[:80]!r}") from None
    if not isinstance(reply, dict) or not isinstance(reply.get("ok"), bool):
        raise _error(path, f"garbled reply (no boolean 'ok'): {line[:80]!r}")
    return reply


def _read_line(sock: socket.socket) -> bytes | None:
    """Bytes up to the first newline; None if the peer closed first."""
    buf = bytearray()
    while True:
        chunk = sock.recv(4096)
        if not chunk:
            return None
        end = chunk.find(b"\n")
        if end >= 0:
            buf += chunk[:end]
            return bytes(buf)
        buf += chunk
        if len(buf) > MAX_REPLY_BYTES:
            raise OSError(f"reply longer than {MAX_REPLY_BYTES} bytes")


def _error(path: object, what: str) -> WorkprintError:
    return WorkprintError(f"control socket {path}: {what}")
