"""Dates of birth: a date (or a birth year) that a birth cue says is one.

Dates on their own are everywhere at work (deadlines, log timestamps, release notes) and are
not personal data; a date after "born", "DOB", "date of birth", "Geburtsdatum", "né le" is.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Final

from workprint.privacy.spans import EntityType, Span

_MONTHS: Final = (
    r"(?:jan(?:uary|uar|vier)?|feb(?:ruary|ruar)?|févr(?:ier)?|mar(?:ch)?|märz|mars|apr(?:il)?|"
    r"avr(?:il)?|may|mai|jun(?:e|i)?|juin|jul(?:y|i)?|juil(?:let)?|aug(?:ust)?|août|"
    r"sep(?:t(?:ember)?)?|oct(?:ober)?|okt(?:ober)?|nov(?:ember)?|dec(?:ember)?|dez(?:ember)?|"
    r"déc(?:embre)?|enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|octubre|"
    r"noviembre|diciembre)\.?"
)
_DATE: Final = (
    r"(?:\d{4}-\d{1,2}-\d{1,2}"
    r"|\d{1,2}[./-]\d{1,2}[./-](?:\d{4}|\d{2})"
    rf"|\d{{1,2}}(?:st|nd|rd|th|\.)?[ \t]+(?:of[ \t]+)?{_MONTHS}[ \t]*,?[ \t]*\d{{4}}"
    rf"|{_MONTHS}[ \t]+\d{{1,2}}(?:st|nd|rd|th)?[ \t]*,?[ \t]*\d{{4}}"
    r"|(?<=born\sin\s)(?:19|20)\d{2})"
)
_CUE: Final = (
    r"(?:born|birth|birthday|dob|d\.o\.b\.?|geboren|geb\.|geburtsdatum|geburtstag|"
    r"né|née|naissance|nacido|nacida|nacimiento|nato|nata|nascita|födelsedatum|syntymäaika|"
    r"fødselsdato|geboortedatum)"
)
_DOB: Final = re.compile(
    rf"\b{_CUE}\b(?:[^\n\d]|\n(?=[^\n]{{0,40}}$)){{0,45}}?(?P<date>{_DATE})(?![\d])",
    re.IGNORECASE | re.MULTILINE,
)
_DOB_AFTER: Final = re.compile(rf"(?P<date>{_DATE})[ \t]*\((?:dob|born|date of birth)\)", re.I)


_HINTS: Final = (
    "born", "birth", "dob", "d.o.b", "geb", "né", "naiss", "naci", "nato", "nata", "nascita",
    "född", "födelse", "syntymä", "fødsel", "geboorte",
)  # fmt: skip


_CUE_START: Final = re.compile(
    r"\b(?:born|birth|dob\b|d\.o\.b|geb\.|geboren|geburt|née?\b|naiss|nacid|nacim|nato\b|"
    r"nata\b|nascit|föd|syntym|fødsel|geboorte)"
)


def find_dates_of_birth(text: str) -> Iterator[Span]:
    """The date after a birth cue (within ~45 characters, no other number in between)."""
    lowered = text.lower()
    if not any(hint in lowered for hint in _HINTS):
        return
    done = 0
    for hint in _CUE_START.finditer(lowered):  # the cue regex only where a cue word starts
        if hint.start() < done:
            continue
        m = _DOB.match(text, hint.start())
        if m is not None:
            done = m.end()
            yield Span(m.start("date"), m.end("date"), EntityType.DATE_OF_BIRTH)
    if "(dob)" in lowered or "(born)" in lowered or "(date of birth)" in lowered:
        for m in _DOB_AFTER.finditer(text):
            yield Span(m.start("date"), m.end("date"), EntityType.DATE_OF_BIRTH)
