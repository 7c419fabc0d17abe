"""The recorder as a systemd user service: the unit file and how to (un)install it."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from workprint.errors import WorkprintError

UNIT_NAME = "workprint-recorder.service"


def unit_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "systemd" / "user"


def render_unit(python: str, home: Path | None) -> str:
    """A unit that starts with the graphical session and restarts the recorder if it fails."""
    argv = [python, "-m", "workprint", "record"]
    if home is not None:
        argv += ["--home", str(home)]
    return f"""[Unit]
Description=workprint recorder (consent-gated capture of keyboard, mouse and window context)
Documentation=file://{Path(__file__).resolve().parents[2] / "README.md"}
PartOf=graphical-session.target
After=graphical-session.target

[Service]
Type=simple
ExecStart={shlex.join(argv)}
Restart=on-failure
RestartSec=5
# The recorder only needs the X display and its own files.
NoNewPrivileges=yes
PrivateTmp=yes
UMask=0077

[Install]
WantedBy=graphical-session.target
"""


def install(home: Path | None, *, enable: bool) -> tuple[Path, str]:
    """Write the unit; with ``enable``, start it through ``systemctl --user``.

    Returns the unit path and what happened to it."""
    path = unit_dir() / UNIT_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_unit(sys.executable, home), encoding="utf-8")
    if not enable:
        return path, "written (not enabled)"
    if shutil.which("systemctl") is None:
        return path, "written; systemctl not found, enable it with your service manager"
    for argv in (
        ["systemctl", "--user", "import-environment", "DISPLAY", "XAUTHORITY"],
        ["systemctl", "--user", "daemon-reload"],
        ["systemctl", "--user", "enable", "--now", UNIT_NAME],
    ):
        result = subprocess.run(argv, capture_output=True, text=True)
        if result.returncode != 0:
            lines = (result.stderr or result.stdout).strip().splitlines()
            reason = lines[-1] if lines else f"exit {result.returncode}"
            raise WorkprintError(
                f"{' '.join(argv)} failed: {reason} (the unit is written at {path})"
            )
    return path, "enabled and started"


def uninstall() -> Path | None:
    path = unit_dir() / UNIT_NAME
    if not path.exists():
        return None
    if shutil.which("systemctl") is not None:
        subprocess.run(
            ["systemctl", "--user", "disable", "--now", UNIT_NAME], capture_output=True, text=True
        )
    path.unlink()
    return path
