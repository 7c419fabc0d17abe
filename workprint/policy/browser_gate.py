"""The edge gate's rules for browser events (called by ``EdgePolicy``): the browsing scope,
excluded sites, sensitive fields, typed values without the text-content scope, query strings.

The extension already applied all of these inside the page; this is the second line, so an
outdated or tampered extension still cannot put a password or an excluded site on disk.
"""

from __future__ import annotations

import re
from typing import Final
from urllib.parse import urlsplit, urlunsplit

from workprint.events import WebAct, WebDwell, WebNav, WebSearch, WebTab
from workprint.policy.browser_policy import BrowserSettings, sensitive_autocomplete

WebEvent = WebNav | WebTab | WebAct | WebDwell | WebSearch

_EMAIL: Final = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
_LONG_NUMBER: Final = re.compile(r"\d[\d \-]{4,}\d")


def strip_url(url: str) -> str:
    """``url`` without query string, fragment or credentials; "" if it cannot be parsed."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{port}" if port is not None else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def redact_query(query: str) -> str:
    """A search query with e-mail addresses and long numbers (phone, card, account numbers)
    replaced by placeholders: queries are kept, what identifies someone in them is not."""
    return _LONG_NUMBER.sub("[number]", _EMAIL.sub("[email]", query))


def web_drop_reason(
    event: WebEvent, settings: BrowserSettings, extra_sites: tuple[str, ...]
) -> str | None:
    """Why a browser event must not be kept (None: it may be, after ``reduce_web``)."""
    if settings.site_excluded(event.url, extra_sites):
        return "excluded-site"
    if isinstance(event, WebAct):
        if (event.el_type or "").lower() == "password" or sensitive_autocomplete(
            event.el_autocomplete
        ):
            return "sensitive-field"
        if _matches_sensitive_selector(event, settings.sensitive_selectors):
            return "sensitive-field"
    return None


def reduce_web(event: WebEvent, *, text: bool) -> None:
    """Strip what the scopes in force do not allow, in place."""
    if event.url is not None:
        event.url = strip_url(event.url)
    if isinstance(event, WebAct) and not text:
        if event.value is not None and event.length is None:
            event.length = len(event.value)
        event.value = None
    if isinstance(event, WebSearch):
        event.query = redact_query(event.query)


def _matches_sensitive_selector(event: WebAct, selectors: tuple[str, ...]) -> bool:
    """Only exact matches can be judged here (the page is gone): the element's own selector, or
    ``#id`` / ``[name=…]`` forms of it. The extension matches the selectors on the live DOM."""
    if not selectors:
        return False
    forms = {event.el_selector}
    if event.el_id:
        forms.add(f"#{event.el_id}")
    return any(selector in forms for selector in selectors)
