"""Debian's Chromium as the tests and benchmarks launch it (through Playwright's
``executable_path``; no browser is ever downloaded)."""

from __future__ import annotations

from typing import Final

CHROMIUM: Final = "/usr/bin/chromium"
# Headless as root in a container, on a closed network: no sandbox, no GPU, no /dev/shm (it is
# small in containers), and no background connections (this machine refuses them, many at once).
CHROMIUM_ARGS: Final = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
