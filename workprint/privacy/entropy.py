"""Is this token a random secret? Shannon entropy plus the look-alikes that have it too.

Random base62/base64 tokens have near-maximal entropy for their length and switch between
upper case, lower case and digits every other character; identifiers, paths and words do not.
Hex strings (commit hashes, checksums, image digests), UUIDs, inline base64 images and
subresource-integrity hashes are high-entropy but not secrets, and are let through.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from itertools import pairwise
from typing import Final

_HEX: Final = re.compile(r"(?:0x)?[0-9a-fA-F]+")
# What redact.Surrogates writes (``<CREDIT_CARD_4b829a8f>``): a redacted text scanned again must
# not flag its own placeholders.
_SURROGATE: Final = re.compile(r"[A-Z]+(?:_[A-Z]+)*_[0-9a-f]{8}")
_UUID: Final = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
)
_NOT_SECRET_BEFORE: Final = re.compile(
    r"(?:base64,|sha(?:1|256|384|512)[-:]|integrity=\"?|sha256=|md5[:=]|etag:?\s*\"?|"
    r"commit\s|digest:?\s)$",
    re.IGNORECASE,
)


_FILE_NAME: Final = re.compile(r"\.[A-Za-z][A-Za-z0-9]{1,4}$")


def shannon_entropy(value: str) -> float:
    """Bits per character of the string's own character distribution."""
    counts = Counter(value)
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in counts.values())


def _class_switches(value: str) -> float:
    """Share of adjacent pairs whose character classes (upper, lower, digit, other) differ."""

    def cls(ch: str) -> int:
        return 0 if ch.isupper() else 1 if ch.islower() else 2 if ch.isdigit() else 3

    classes = [cls(ch) for ch in value]
    return sum(a != b for a, b in pairwise(classes)) / (len(value) - 1)


def looks_random(token: str, text: str = "", start: int = 0) -> bool:
    """True for a token of >= 20 characters that is probably a generated secret."""
    core = token.strip("=.-_")
    if len(core) < 20 or _FILE_NAME.search(core):
        return False
    if _HEX.fullmatch(core) or _UUID.search(core) or _is_surrogate(core, text, start):
        return False
    if _NOT_SECRET_BEFORE.search(text, max(0, start - 12), start):
        return False
    has_upper = any(ch.isupper() for ch in core)
    has_lower = any(ch.islower() for ch in core)
    digits = sum(ch.isdigit() for ch in core)
    if not (has_upper and has_lower and digits >= 2):
        return False
    if core.count("/") >= 2 and not any(ch in core for ch in "+="):
        segments = [s for s in core.split("/") if s]
        if all(s.isalpha() or len(s) < 12 for s in segments):
            return False  # a path
    entropy = shannon_entropy(core)
    ceiling = math.log2(min(len(core), 64))
    return entropy >= 0.82 * ceiling and _class_switches(core) >= 0.3


def _is_surrogate(core: str, text: str, start: int) -> bool:
    """``core`` is a surrogate placeholder: the surrogate shape, in angle brackets."""
    if not _SURROGATE.fullmatch(core):
        return False
    at = text.find(core, start)
    return at > 0 and text[at - 1] == "<" and text[at + len(core) : at + len(core) + 1] == ">"
