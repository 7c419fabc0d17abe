"""Owner-only Unix stream sockets served by a thread: the recorder's control socket
(``agent.control_server``) and the browser bridge (``capture.browser_bridge``).

The socket file is created 0600 (the umask is narrowed around ``bind``, so it is never readable
by others, not even for a moment), and every connection's peer uid is checked too."""

from __future__ import annotations

import os
import socket
import struct
import threading
from pathlib import Path


def peer_is_owner(conn: socket.socket) -> bool:
    """The connecting process runs as this process's user (SO_PEERCRED)."""
    creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    return bool(struct.unpack("3i", creds)[1] == os.getuid())


class OwnerOnlySocketServer:
    """Listens on ``path`` and hands each accepted connection to ``_accepted`` in the serving
    thread; ``stop`` ends the loop within the 0.5 s accept timeout and removes the socket."""

    def __init__(self, path: Path, thread_name: str) -> None:
        self._path = path
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
        self._thread = threading.Thread(target=self._serve, name=thread_name, daemon=True)

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
            self._accepted(conn)

    def _accepted(self, conn: socket.socket) -> None:
        raise NotImplementedError
