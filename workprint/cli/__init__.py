"""The ``workprint`` command: one Typer sub-app or command module per group."""

from __future__ import annotations

import sys

from workprint.cli.app import app
from workprint.errors import WorkprintError

# Importing the command modules registers their commands on ``app``.
from workprint.cli import admin as _admin  # noqa: F401  isort: skip
from workprint.cli import browser as _browser  # noqa: F401  isort: skip
from workprint.cli import build as _build  # noqa: F401  isort: skip
from workprint.cli import consent as _consent  # noqa: F401  isort: skip
from workprint.cli import control as _control  # noqa: F401  isort: skip
from workprint.cli import demo as _demo  # noqa: F401  isort: skip
from workprint.cli import enroll as _enroll  # noqa: F401  isort: skip
from workprint.cli import events as _events  # noqa: F401  isort: skip
from workprint.cli import export as _export  # noqa: F401  isort: skip
from workprint.cli import imports as _imports  # noqa: F401  isort: skip
from workprint.cli import policy as _policy  # noqa: F401  isort: skip
from workprint.cli import portal as _portal  # noqa: F401  isort: skip
from workprint.cli import privacy as _privacy  # noqa: F401  isort: skip
from workprint.cli import privacy_timing as _privacy_timing  # noqa: F401  isort: skip
from workprint.cli import release as _release  # noqa: F401  isort: skip
from workprint.cli import record as _record  # noqa: F401  isort: skip
from workprint.cli import serve as _serve  # noqa: F401  isort: skip
from workprint.cli import service as _service  # noqa: F401  isort: skip


def main() -> None:
    """Entry point: a ``WorkprintError`` becomes one line on stderr and its exit code.

    Typer's standalone mode already turns usage errors into a short message and exit 2."""
    try:
        app()
    except WorkprintError as exc:
        print(f"workprint: error: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)
