"""Where a collector keeps its store and its master key by default — deliberately apart.

The data directory goes under the XDG data home, the master key under the XDG config home:
backing up or copying the data directory does not copy the key that opens it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final

DATA_ENV: Final = "WORKPRINT_DATA"
APP_DIR: Final = "workprint-server"


def _xdg(var: str, default: str) -> Path:
    value = os.environ.get(var)
    return Path(value) if value else Path.home() / default


def default_data_dir() -> Path:
    """``$WORKPRINT_DATA``, else ``~/.local/share/workprint-server``."""
    value = os.environ.get(DATA_ENV)
    if value:
        return Path(value).expanduser()
    return _xdg("XDG_DATA_HOME", ".local/share") / APP_DIR


def default_master_key_path() -> Path:
    """``~/.config/workprint-server/master.key``."""
    return _xdg("XDG_CONFIG_HOME", ".config") / APP_DIR / "master.key"
