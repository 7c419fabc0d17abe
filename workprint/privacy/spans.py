"""Entity types, spans and how overlapping detections are settled.

A span is a half-open range of code points into the original text, so it can be compared with
gold labels and shipped over JSON without re-encoding.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from enum import StrEnum
from typing import Final, NamedTuple


class EntityType(StrEnum):
    """What a span holds; the placeholder written in its place is ``<TYPE>``."""

    PERSON = "PERSON"
    EMAIL = "EMAIL"
    PHONE = "PHONE"
    CREDIT_CARD = "CREDIT_CARD"
    GOV_ID = "GOV_ID"
    IBAN = "IBAN"
    IP_ADDRESS = "IP_ADDRESS"
    ADDRESS = "ADDRESS"
    DATE_OF_BIRTH = "DATE_OF_BIRTH"
    SECRET = "SECRET"
    URL_CREDENTIALS = "URL_CREDENTIALS"


class Span(NamedTuple):
    """``text[start:end]`` is personal data or a secret of ``type``."""

    start: int
    end: int
    type: EntityType


# When two detections overlap, the more specific (checksummed or prefixed) one wins: a card
# number inside an address line is a card number; a URL's userinfo is hidden whole.
PRIORITY: Final[dict[EntityType, int]] = {
    EntityType.URL_CREDENTIALS: 100,
    EntityType.SECRET: 95,
    EntityType.EMAIL: 90,
    EntityType.IBAN: 85,
    EntityType.CREDIT_CARD: 80,
    EntityType.GOV_ID: 75,
    EntityType.IP_ADDRESS: 70,
    EntityType.PHONE: 60,
    EntityType.DATE_OF_BIRTH: 55,
    EntityType.ADDRESS: 40,
    EntityType.PERSON: 30,
}


def resolve(spans: Iterable[Span]) -> list[Span]:
    """Non-overlapping spans in text order: by priority, then the longer one, then the earlier.

    A lower-priority span that overlaps an accepted one is dropped whole rather than cut, so a
    placeholder never stands for a fragment of a value."""
    ordered = sorted(set(spans), key=lambda s: (-PRIORITY[s.type], s.start - s.end, s.start))
    starts: list[int] = []  # kept spans, sorted and disjoint, so one bisect finds a clash
    kept: list[Span] = []
    for span in ordered:
        if span.end <= span.start:
            continue
        i = bisect_right(starts, span.start)
        if i > 0 and kept[i - 1].end > span.start:
            continue
        if i < len(kept) and kept[i].start < span.end:
            continue
        starts.insert(i, span.start)
        kept.insert(i, span)
    return kept
