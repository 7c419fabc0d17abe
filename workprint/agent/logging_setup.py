"""The agent's log: operational facts only (start, stop, pause, counts), never event content,
in a 0600 file beside the spool."""

from __future__ import annotations

import logging
import os
from pathlib import Path


def configure_agent_logging(path: Path, level: str = "INFO") -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.close(fd)
    os.chmod(path, 0o600)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("workprint")
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    root.propagate = False
