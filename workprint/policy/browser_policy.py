"""The browser part of the edge policy: sites where nothing is recorded, fields that are never
read, and the sites whose result pages are search sessions (docs/browser.md).

The extension applies these rules inside the page, before a message leaves it; the recorder
applies them again to every browser event before the spool, so a wrong or old extension cannot
widen what is kept.
"""

from __future__ import annotations

import re
from typing import Annotated, Final
from urllib.parse import urlsplit

import msgspec

SitePattern = Annotated[str, msgspec.Meta(min_length=1, max_length=253)]

# The workprint portal is the collector's own web interface: a person reviewing or erasing their
# data there must not have that recorded. The enrolled collector is added to these at run time.
DEFAULT_EXCLUDED_SITES: Final = ("127.0.0.1:8420", "localhost:8420")

# Never read, whatever the policy says (the extension has the same list built in).
ALWAYS_SENSITIVE_AUTOCOMPLETE: Final = ("current-password", "new-password", "one-time-code")
ALWAYS_SENSITIVE_AUTOCOMPLETE_PREFIX: Final = "cc-"

_SITE = re.compile(r"^(\*\.)?[a-z0-9.\-\[\]:]+(:\d{1,5})?$")


class SearchSite(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """An internal search site: result pages are under ``host`` (exact, with ``:port`` if not
    the default) and ``path`` (a prefix), the query is the URL parameter ``param``, and the
    result links are the elements matching the CSS selector ``results``."""

    name: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    host: SitePattern
    path: str = "/"
    param: Annotated[str, msgspec.Meta(min_length=1, max_length=64)] = "q"
    results: Annotated[str, msgspec.Meta(min_length=1, max_length=512)] = "[data-result] a[href]"


class BrowserSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``exclude_sites``: a pattern ``example.org`` matches that host and its subdomains on any
    port, ``example.org:8080`` only that port, ``*.example.org`` only subdomains.
    ``sensitive_selectors``: CSS selectors of fields never read (beyond the built-in password,
    card and one-time-code fields). ``search_sites``: internal search sites."""

    exclude_sites: tuple[SitePattern, ...] = DEFAULT_EXCLUDED_SITES
    sensitive_selectors: tuple[Annotated[str, msgspec.Meta(min_length=1, max_length=512)], ...] = ()
    search_sites: tuple[SearchSite, ...] = ()

    def __post_init__(self) -> None:
        for pattern in self.exclude_sites:
            if not _SITE.match(pattern.lower()):
                raise ValueError(
                    f"exclude_sites: {pattern!r} is not a host, host:port or *.host pattern"
                )

    def site_excluded(self, url: str | None, extra: tuple[str, ...] = ()) -> bool:
        """True if ``url`` (any scheme with a host) falls under an excluded site pattern.
        A URL that cannot be parsed counts as excluded: when in doubt, keep nothing."""
        if url is None:
            return False
        try:
            parts = urlsplit(url)
            host = (parts.hostname or "").lower()
            port = parts.port
        except ValueError:
            return True
        if not host:
            return False
        return any(site_matches(p, host, port) for p in (*self.exclude_sites, *extra))


def site_matches(pattern: str, host: str, port: int | None) -> bool:
    """Does ``host``/``port`` (lower case) fall under one exclusion ``pattern``?"""
    pattern = pattern.lower()
    want_port: int | None = None
    if pattern.startswith("["):  # [v6 address] or [v6 address]:port
        pattern, _, rest = pattern[1:].partition("]")
        want_port = int(rest[1:]) if rest.startswith(":") and rest[1:].isdigit() else None
    elif pattern.count(":") == 1:
        pattern, _, digits = pattern.partition(":")
        want_port = int(digits) if digits.isdigit() else None
    if want_port is not None and port != want_port:
        return False
    if pattern.startswith("*."):
        return host.endswith(pattern[1:])
    return host == pattern or host.endswith("." + pattern)


def sensitive_autocomplete(autocomplete: str | None) -> bool:
    """A field whose autocomplete token says it holds a password, card data or a one-time code."""
    if not autocomplete:
        return False
    tokens = autocomplete.lower().split()
    return any(
        t in ALWAYS_SENSITIVE_AUTOCOMPLETE or t.startswith(ALWAYS_SENSITIVE_AUTOCOMPLETE_PREFIX)
        for t in tokens
    )
