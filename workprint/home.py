"""Where a workprint installation keeps its files on this machine.

By default the XDG directories of the user; ``WORKPRINT_HOME`` (or ``--home``) puts everything
under one directory instead, which is what tests and the demo use. Every directory is created
0700: nothing workprint writes is readable by other users.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


def _xdg(var: str, default: str) -> Path:
    value = os.environ.get(var)
    return Path(value) if value else Path.home() / default


@dataclass(frozen=True)
class Home:
    config_dir: Path
    data_dir: Path
    runtime_dir: Path

    @classmethod
    def resolve(cls, root: str | os.PathLike[str] | None = None) -> Home:
        root = root if root is not None else os.environ.get("WORKPRINT_HOME")
        if root:
            base = Path(root).expanduser().absolute()
            return cls(base / "config", base / "data", base / "run")
        runtime = os.environ.get("XDG_RUNTIME_DIR")
        run = Path(runtime) / "workprint" if runtime else Path(f"/tmp/workprint-{os.getuid()}")
        return cls(
            _xdg("XDG_CONFIG_HOME", ".config") / "workprint",
            _xdg("XDG_DATA_HOME", ".local/share") / "workprint",
            run,
        )

    @property
    def policy_file(self) -> Path:
        return self.config_dir / "policy.toml"

    @property
    def consent_file(self) -> Path:
        return self.config_dir / "consent.json"

    @property
    def spool_file(self) -> Path:
        return self.data_dir / "spool.db"

    @property
    def device_key_file(self) -> Path:
        return self.data_dir / "device.key"

    @property
    def device_id_file(self) -> Path:
        return self.data_dir / "device.id"

    @property
    def log_file(self) -> Path:
        return self.data_dir / "agent.log"

    @property
    def control_socket(self) -> Path:
        return self.runtime_dir / "agent.sock"

    def ensure(self) -> Home:
        """Create the directories (0700) and return self."""
        for directory in (self.config_dir, self.data_dir, self.runtime_dir):
            directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            os.chmod(directory, 0o700)
        return self
