"""The recorder's control socket: a Unix stream socket in the user's 0700 runtime directory,
mode 0600, that also checks the peer's uid. One JSON object per line each way (see
``control_client`` for the client side)."""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

from workprint.errors import WorkprintError
from workprint.local_socket import OwnerOnlySocketServer, peer_is_owner

log = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any]], dict[str, Any]]
_MAX_REQUEST = 64 * 1024


class ControlServer(OwnerOnlySocketServer):
    def __init__(self, path: Path, handler: Handler) -> None:
        self._handler = handler
        _claim_path(path)
        super().__init__(path, "control")

    def _accepted(self, conn: socket.socket) -> None:
        with conn:
            try:
                self._handle(conn)
            except Exception:
                log.exception("control request failed")

    def _handle(self, conn: socket.socket) -> None:
        conn.settimeout(2)
        if not peer_is_owner(conn):
            self._reply(conn, {"ok": False, "error": "permission denied"})
            return
        data = b""
        while not data.endswith(b"\n") and len(data) < _MAX_REQUEST:
            chunk = conn.recv(4096)
            if not chunk:
                break
            data += chunk
        try:
            request = json.loads(data)
            if not isinstance(request, dict) or not isinstance(request.get("cmd"), str):
                raise ValueError("expected a JSON object with a string 'cmd'")
        except ValueError as exc:
            self._reply(conn, {"ok": False, "error": f"bad request: {exc}"})
            return
        self._reply(conn, self._handler(request))

    @staticmethod
    def _reply(conn: socket.socket, body: dict[str, Any]) -> None:
        conn.sendall(json.dumps(body).encode() + b"\n")


def _claim_path(path: Path) -> None:
    """Refuse to start beside a live agent; remove the socket a killed agent left behind."""
    if not path.exists():
        return
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(str(path))
    except OSError:
        path.unlink(missing_ok=True)
        return
    finally:
        probe.close()
    raise WorkprintError(f"a recorder is already running (control socket {path})")
