"""Run every detector over a text and settle overlaps; the batch entry points.

Each detector has a cheap precondition (a character or substring its matches must contain) so
that the common short text (a window title, a burst of typing) pays only for the detectors that
can fire on it.
"""

from __future__ import annotations

import os
import re
from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Final

from workprint.privacy.addresses import find_addresses, might_hold_address
from workprint.privacy.dates import find_dates_of_birth
from workprint.privacy.govid import find_gov_ids
from workprint.privacy.names import find_persons
from workprint.privacy.phones import find_phones
from workprint.privacy.secrets import find_secrets
from workprint.privacy.spans import EntityType, Span, resolve
from workprint.privacy.structured import (
    find_cards,
    find_emails,
    find_ibans,
    find_ips,
    find_url_credentials,
)
from workprint.privacy.tagger import find_tagged

Detector = Callable[[str], Iterator[Span]]


_DIGIT: Final = re.compile(r"\d")


def _has_digit(text: str) -> bool:
    return _DIGIT.search(text) is not None


def _always(text: str) -> bool:
    return True


# (precondition, detector, sees query strings decoded). Order does not matter: ``resolve``
# decides by priority. Secrets, userinfo and e-mail addresses are matched on the text as it
# is (a "+" is part of a base64 token or an address); the rest read "q=anna+berg" as words.
DETECTORS: Final[tuple[tuple[Callable[[str], bool], Detector, bool], ...]] = (
    (_always, find_secrets, False),
    (lambda t: "://" in t, find_url_credentials, False),
    (lambda t: "@" in t or "%40" in t, find_emails, False),
    (_has_digit, find_ibans, True),
    (_has_digit, find_cards, True),
    (_has_digit, find_gov_ids, True),
    (lambda t: "." in t or ":" in t, find_ips, True),
    (_has_digit, find_phones, True),
    (_has_digit, find_dates_of_birth, True),
    (might_hold_address, find_addresses, True),
    (_always, find_persons, True),
)


_QUERY_VALUE: Final = re.compile(r"(?<=[?&])[\w.%-]+=[^&#\s]*")


def _decode_query_plus(text: str) -> str:
    """``text`` with "+" read as the space it encodes inside URL query values; the same
    length, so offsets found in it are offsets into ``text``."""
    if "+" not in text or "=" not in text or "?" not in text:
        return text
    return _QUERY_VALUE.sub(lambda m: m.group().replace("+", " "), text)


def _merge_same_type(spans: Iterable[Span]) -> list[Span]:
    """Overlapping or touching spans of one type become one (an address found twice, a name
    and its surname): the union is what must be hidden."""
    merged: list[Span] = []
    last: dict[EntityType, int] = {}
    for span in sorted(spans):
        i = last.get(span.type)
        if i is not None and merged[i].end >= span.start:
            prev = merged[i]
            merged[i] = Span(prev.start, max(prev.end, span.end), prev.type)
        else:
            last[span.type] = len(merged)
            merged.append(span)
    return merged


def scan_text(text: str, types: frozenset[EntityType] | None = None) -> list[Span]:
    """Non-overlapping spans of personal data and secrets in ``text``, in text order."""
    found: list[Span] = []
    decoded = _decode_query_plus(text)
    for applies, detect, on_decoded in DETECTORS:
        view = decoded if on_decoded else text
        if applies(view):
            found.extend(detect(view))
    if USE_TAGGER and (types is None or not types.isdisjoint(_TAGGED)):
        found.extend(_gap_fillers(decoded, resolve(_merge_same_type(found))))
    if types is not None:
        found = [s for s in found if s.type in types]
    return resolve(_merge_same_type(found))


_TAGGED: Final = frozenset({EntityType.PERSON, EntityType.ADDRESS})
# The learned tagger (``tagger``) is opt-in: on the held-out synthetic split it lifts recall
# (0.824 -> 0.850) but costs more precision than it gains (0.899 -> 0.825), see
# docs/privacy.md. ``WORKPRINT_PII_TAGGER=1`` turns it on for a process.
USE_TAGGER: bool = os.environ.get("WORKPRINT_PII_TAGGER", "") == "1"


def _gap_fillers(text: str, ruled: list[Span]) -> list[Span]:
    """The tagger's spans that touch no span the rules found: the rules keep their say where
    they spoke (their boundaries are the better ones), the tagger adds what they missed."""
    starts = [s.start for s in ruled]
    kept = []
    for span in find_tagged(text):
        i = bisect_right(starts, span.start)
        if i > 0 and ruled[i - 1].end > span.start:
            continue
        if i < len(ruled) and ruled[i].start < span.end:
            continue
        kept.append(span)
    return kept


def scan_texts(
    texts: Sequence[str], types: frozenset[EntityType] | None = None
) -> list[list[Span]]:
    """``scan_text`` over a batch; one list per text, in order."""
    return [scan_text(text, types) for text in texts]
