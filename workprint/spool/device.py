"""The device id: a random uuid4 hex naming this machine's event stream (and its seq numbers).

It is not secret but it is personal (it links a person's batches together), so it is created
owner-only like the key.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Final

from workprint.crypto import create_private_file, read_private_file
from workprint.errors import WorkprintError

_DEVICE_ID: Final = re.compile(r"[0-9a-f]{32}")


def load_or_create_device_id(path: Path) -> str:
    """Return the device id stored at ``path``, creating a fresh uuid4 hex (0600) if missing."""
    for _ in range(2):
        data = read_private_file(path, what="device id")
        if data is None:
            create_private_file(path, (uuid.uuid4().hex + "\n").encode("ascii"))
            continue
        text = data.decode("ascii", "replace").strip()
        if not _DEVICE_ID.fullmatch(text):
            raise WorkprintError(f"device id {path} does not hold 32 lowercase hex digits")
        return text
    raise WorkprintError(f"device id {path} vanished while it was being created")
