"""Generalising quasi-identifying strings before a release: app names, URLs, window titles.

- An app on the steward's allowlist keeps its name; any other app becomes its category from the
  steward's app → category map, or ``other``. A rare app is a fingerprint; a category is not.
- A URL keeps its scheme, its host and a *templated* path: numbers, UUIDs, hashes, long opaque
  ids and segments with personal data become placeholders (``/orders/{num}``), deep paths are
  cut. Userinfo, port, query and fragment go, except the search query of a search URL, which is
  kept redacted (what people search for is the point of search data; who they are is not).
- A title is redacted by the PII/secret scanner, dropped, or (a weaker policy) kept as it is.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Final, Literal
from urllib.parse import quote_plus, unquote, urlencode, urlsplit

from workprint.privacy.redact import SurrogateFn, scan_and_redact
from workprint.privacy.scanner import scan_text

FieldPolicy = Literal["redact", "drop", "keep"]
OTHER_CATEGORY: Final = "other"
_UUID: Final = re.compile(r"[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}", re.I)
_HEX: Final = re.compile(r"[0-9a-f]{8,}", re.I)
_NUMBERISH: Final = re.compile(r"[\d][\d.,_-]*")
_WORDISH: Final = re.compile(r"[A-Za-z][A-Za-z._~-]{0,39}\d{0,2}")  # "orders", "v1", "h2"


def generalise_app(
    app: str | None, allowlist: Sequence[str], categories: Mapping[str, str]
) -> str | None:
    """The app's own name if allowed, else its category, else ``other`` (case-insensitive)."""
    if app is None:
        return None
    allowed = {a.casefold() for a in allowlist}
    if app.casefold() in allowed:
        return app
    folded = {k.casefold(): v for k, v in categories.items()}
    return folded.get(app.casefold(), OTHER_CATEGORY)


def template_segment(segment: str) -> str:
    """One path segment, or the placeholder for what it is."""
    text = unquote(segment)
    if not text:
        return text
    if _UUID.fullmatch(text):
        return "{uuid}"
    if _NUMBERISH.fullmatch(text):
        return "{num}"
    if _HEX.fullmatch(text) and any(c.isdigit() for c in text):
        return "{hash}"
    if "@" in text or scan_text(text):
        return "{pii}"
    if _WORDISH.fullmatch(text):
        return text
    return "{id}"


def generalise_url(
    url: str | None,
    *,
    search_params: Sequence[str] = ("q",),
    max_depth: int = 4,
    surrogate: SurrogateFn | None = None,
) -> str | None:
    """``scheme://host/templated/path`` plus a redacted search query, or None when nothing of
    the URL can be kept (not a URL with a host)."""
    if url is None:
        return None
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname
    except ValueError:
        return None
    if not parts.scheme or not host:
        return f"{parts.scheme}:" if parts.scheme and not parts.netloc else None
    segments = [s for s in parts.path.split("/") if s]
    templated = [template_segment(s) for s in segments[:max_depth]]
    if len(segments) > max_depth:
        templated.append("{more}")
    out = f"{parts.scheme.lower()}://{host.lower()}/" + "/".join(templated)
    kept: list[tuple[str, str]] = []
    for pair in parts.query.split("&"):
        name, eq, value = pair.partition("=")
        if eq and name in search_params and value:
            redacted, _ = scan_and_redact(unquote(value.replace("+", " ")), surrogate)
            kept.append((name, redacted))
            break
    if kept:
        out += "?" + urlencode(kept, quote_via=quote_plus)
    return out


def generalise_title(
    title: str | None, policy: FieldPolicy, surrogate: SurrogateFn | None = None
) -> str | None:
    """A window title under the title policy."""
    if title is None or policy == "keep":
        return title
    if policy == "drop":
        return None
    return scan_and_redact(title, surrogate)[0]
