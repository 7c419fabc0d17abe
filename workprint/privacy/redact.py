"""Replacing what was found: typed placeholders and optional per-release surrogates.

A surrogate is ``<TYPE_1a2b3c4d>``: an HMAC of the normalised value under a key made for one
release, so the same e-mail address is the same token everywhere in that release (a model can
still learn "the same person wrote to the same person again") but cannot be linked across
releases or reversed without the key, which is never written into the release.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Callable, Sequence
from typing import Final

from workprint.privacy.scanner import scan_text
from workprint.privacy.spans import EntityType, Span

SurrogateFn = Callable[[EntityType, str], str]

_COMPACT_TYPES: Final = frozenset(
    {EntityType.PHONE, EntityType.CREDIT_CARD, EntityType.IBAN, EntityType.GOV_ID}
)


class Surrogates:
    """Consistent placeholders for one release; make a fresh one (a new key) per release."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("a surrogate key needs at least 16 bytes")
        self._key = key

    @classmethod
    def new(cls) -> Surrogates:
        """A random 256-bit key: surrogates of this release link to no other release."""
        return cls(secrets.token_bytes(32))

    @staticmethod
    def normalise(entity: EntityType, value: str) -> str:
        """The form two spellings of one value share: no case, no spacing, no separators in
        numbers (``+49 170 1234567`` and ``+491701234567`` are one phone)."""
        if entity in _COMPACT_TYPES:
            return re.sub(r"[^0-9A-Za-z]", "", value).upper()
        return " ".join(value.casefold().split())

    def __call__(self, entity: EntityType, value: str) -> str:
        message = f"{entity.value}\x00{self.normalise(entity, value)}".encode()
        digest = hmac.new(self._key, message, hashlib.sha256).hexdigest()[:8]
        return f"<{entity.value}_{digest}>"


def placeholder(entity: EntityType, value: str) -> str:
    """The default replacement: the type alone, ``<EMAIL>``."""
    return f"<{entity.value}>"


def redact(text: str, spans: Sequence[Span], surrogate: SurrogateFn | None = None) -> str:
    """``text`` with every span replaced; spans must not overlap (``scan_text`` output)."""
    replace = surrogate or placeholder
    parts: list[str] = []
    pos = 0
    for span in sorted(spans):
        if span.start < pos:
            raise ValueError(f"overlapping spans at {span.start}")
        parts.append(text[pos : span.start])
        parts.append(replace(span.type, text[span.start : span.end]))
        pos = span.end
    parts.append(text[pos:])
    return "".join(parts)


def scan_and_redact(text: str, surrogate: SurrogateFn | None = None) -> tuple[str, list[Span]]:
    """Redacted text and the spans (offsets into the original)."""
    spans = scan_text(text)
    return redact(text, spans, surrogate), spans
