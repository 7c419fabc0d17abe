"""What the recorder tells the browser extension (through the native host): whether to record,
whether typed values may be read, and the browser part of the policy it must apply in the page.
"""

from __future__ import annotations

from collections.abc import Set
from typing import Any
from urllib.parse import urlsplit

import msgspec

from workprint.errors import WorkprintError
from workprint.home import Home
from workprint.policy import Policy
from workprint.spool.collector_config import load_enrollment


def browser_state(
    policy: Policy, scopes: Set[str], paused: bool, portal_sites: tuple[str, ...]
) -> dict[str, Any]:
    """The reply to the extension's ``state`` request. ``text`` says whether field values may
    be read (text-content); without it the extension sends lengths and timing only."""
    state = "no-consent" if "browsing" not in scopes else "paused" if paused else "recording"
    browser = policy.browser
    return {
        "ok": True,
        "state": state,
        "text": "text-content" in scopes and "input-timing" in scopes,
        "exclude_sites": [*browser.exclude_sites, *portal_sites],
        "sensitive_selectors": list(browser.sensitive_selectors),
        "search_sites": [msgspec.structs.asdict(site) for site in browser.search_sites],
    }


def enrolled_portal(home: Home) -> tuple[str, ...]:
    """The enrolled collector's ``host:port``: its web portal is never recorded by the browser.
    An unreadable enrollment adds nothing here (the uploader reports it)."""
    try:
        enrollment = load_enrollment(home)
    except WorkprintError:
        return ()
    if enrollment is None:
        return ()
    try:
        parts = urlsplit(enrollment[0].url)
        host, port = parts.hostname, parts.port
    except ValueError:
        return ()
    if not host:
        return ()
    if ":" in host:
        host = f"[{host}]"
    return (f"{host}:{port}",) if port else (host,)
