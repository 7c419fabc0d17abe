"""A free loopback port for the servers the testbed starts (collectors, PostgreSQL, S3)."""

from __future__ import annotations

import socket


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now. It is closed again before the server binds it,
    so a server that loses the race fails to start with a clear error (and may be retried)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port
