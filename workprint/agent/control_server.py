"""The recorder's control socket: a Unix stream socket in the user's 0700 runtime directory,
mode 0600, that also checks the peer's uid. One JSON object per line each way (see
``control_client`` for the client side)."""

from __future__ import annotations

import json
import logging
import os
import socket
import struct
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from workprint.errors import WorkprintError

log = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any]], dict[str, Any]]
_MAX_REQUEST = 64 * 1024


class ControlServer:
    def __init__(self, path: Path, handler: Handler) -> None:
        self._path = path
        self._handler = handler
        self._claim_path()
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old_umask = os.umask(0o177)
        try:
            self._sock.bind(str(path))
        finally:
            os.umask(old_umask)
        os.chmod(path, 0o600)
        self._sock.listen(8)
        self._sock.settimeout(0.5)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="control", daemon=True)

    def _claim_path(self) -> None:
        """Refuse to start beside a live agent; remove the socket a killed agent left behind."""
        if not self._path.exists():
            return
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            probe.connect(str(self._path))
        except OSError:
            self._path.unlink(missing_ok=True)
            return
        finally:
            probe.close()
        raise WorkprintError(f"a recorder is already running (control socket {self._path})")

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        self._sock.close()
        self._path.unlink(missing_ok=True)

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:
                try:
                    self._handle(conn)
                except Exception:
                    log.exception("control request failed")

    def _handle(self, conn: socket.socket) -> None:
        conn.settimeout(2)
        creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
        _pid, uid, _gid = struct.unpack("3i", creds)
        if uid != os.getuid():
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
