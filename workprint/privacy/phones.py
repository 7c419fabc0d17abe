"""Phone numbers in international and national formats, checked with Google's libphonenumber.

A digit group run is a phone number when it carries a country code that libphonenumber accepts,
when a word around it says so ("call me on", "Mobile:", "… office"), or when it stands alone on
a line of a contact block; dates, times, prices and version numbers are turned away first.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Final

import phonenumbers

from workprint.privacy.spans import EntityType, Span

_PHONE: Final = re.compile(
    r"(?<![\w+/.,:=#(-])"
    r"(?:(?:\+|00|\(\+)\d{1,3}\)?[ .-]?(?:\(0\)[ .-]?)?)?"
    r"(?:\(\d{1,5}\)[ .-]?)?"
    r"\d{1,15}(?:[ .-]\d{1,8}){0,5}"
    r"(?:[ ]?(?:x|ext\.?|extension|#)[ ]?\d{1,6})?"
    r"(?![\w/]|[.,:-]\d|-[A-Za-z])"
)
_CONTEXT_BEFORE: Final = re.compile(
    r"(?:phone|tel|telephone|mobile|mob|cell|cellphone|call|calling|fax|desk|office|home|work|"
    r"whatsapp|signal|sms|text|texts|message|messages|reach|dial|ring|answering|contact|hotline|"
    r"landline|handy|telefon|tél|téléphone|móvil|puhelin|tlf|ph|direct|switchboard|"
    r"(?:my|new|phone|mobile|cell|contact|direct|office|home|work|landline|fax)\s+(?:number|no|nr))"
    r"\b[^\n\d]{0,28}$",
    re.IGNORECASE,
)
_CONTEXT_AFTER: Final = re.compile(
    r"[ \t]*[-(]?[ \t]*(?:office|fax|mobile|cell|home|work|direct|phone|tel)\b", re.IGNORECASE
)
_DATE_LIKE: Final = re.compile(
    r"\d{4}[-./]\d{1,2}[-./]\d{1,2}|\d{1,2}[-./]\d{1,2}[-./]\d{2,4}|\d{1,2}\.\d{1,2}\.?$"
)
_VERSION_LIKE: Final = re.compile(r"\d{1,3}(?:\.\d{1,4}){1,3}")
_MONEY_BEFORE: Final = re.compile(r"(?:[$€£¥]|\b(?:usd|eur|gbp|chf|price|total|amount))\s*$", re.I)
_NOT_PHONE_BEFORE: Final = re.compile(
    r"(?:order|invoice|tracking|ticket|ref|booking|shipment|parcel|receipt|transaction|build|"
    r"issue|version|v|port|pid|id|isbn|ean|serial|zip|postcode|plz|box|suite|apt|unit|room|"
    r"customer|account|member|policy|claim|case|contract|patient|employee|student|client)"
    r"(?:\s+(?:number|no\.?|nr\.?|#))?\b"
    r"\W{0,4}$",
    re.IGNORECASE,
)


# Shapes only phone numbers take: a trunk "0" then digit groups ("03662 585178",
# "(0191) 496 0377", "02 4177 7631"), and North American 3-3-4 ("797-386-9073x6625").
_PHONE_SHAPE: Final = re.compile(
    r"(?:\(0\d{1,4}\)|0\d{1,4})(?:[ -]\d{2,8}){1,4}(?:[ ]?(?:x|ext\.?)[ ]?\d{1,6})?"
    r"|(?:\(\d{3}\)[ ]?|\d{3}[-.])\d{3}[-.]\d{4}(?:[ ]?(?:x|ext\.?)[ ]?\d{1,6})?"
)


_WORD_AFTER: Final = re.compile(r"[ \t]+[A-Z][a-z]")


def _digits(value: str) -> str:
    main = re.split(r"[ ]?(?:x|ext\.?|extension|#)", value, maxsplit=1)[0]
    return re.sub(r"\D", "", main)


def _international_ok(value: str) -> bool:
    number = "+" + value[2:] if value.startswith("00") else value.replace("(+", "+", 1)
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return False
    return phonenumbers.is_possible_number(parsed)


def _alone_on_line(text: str, start: int, end: int) -> bool:
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    line_end = len(text) if line_end < 0 else line_end
    before = text[line_start:start].strip(" \t>|*•-")
    after = text[end:line_end].strip()
    return not before and (not after or bool(_CONTEXT_AFTER.match(after)))


def find_phones(text: str) -> Iterator[Span]:
    """Phone numbers; see the module docstring."""
    for m in _PHONE.finditer(text):
        value = m.group()
        digits = _digits(value)
        if not 7 <= len(digits) <= 15:
            continue
        start, end = m.start(), m.end()
        if value.startswith(("+", "00", "(+")):
            if _international_ok(value):
                yield Span(start, end, EntityType.PHONE)
            continue
        if _DATE_LIKE.fullmatch(value) or _VERSION_LIKE.fullmatch(value):
            continue
        before = text[max(0, start - 40) : start]
        if _MONEY_BEFORE.search(before) or _NOT_PHONE_BEFORE.search(before):
            continue
        # ... unless a street name follows: "03262 2437 Main St" is a postcode + house number
        if (
            _PHONE_SHAPE.fullmatch(value)
            and 9 <= len(digits) <= 12
            and not _WORD_AFTER.match(text, end)
        ):
            yield Span(start, end, EntityType.PHONE)
            continue
        separated = value != digits
        if (
            _CONTEXT_BEFORE.search(before)
            or _CONTEXT_AFTER.match(text, end)
            or (separated and _alone_on_line(text, start, end) and "." not in value.strip("."))
        ):
            yield Span(start, end, EntityType.PHONE)
