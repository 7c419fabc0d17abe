"""Detectors for values with a fixed shape: e-mail, payment card, IBAN, IP address, URL userinfo.

Each pattern finds candidates; a checksum or a parser decides, and a few guards keep the
look-alikes people type all day (retina image names, order numbers, epoch timestamps, version
numbers, loopback addresses) out.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator
from typing import Final

from workprint.privacy.checksums import IBAN_LENGTHS, iban_ok, luhn_ok
from workprint.privacy.spans import EntityType, Span

_EMAIL: Final = re.compile(
    r"(?<![\w.%+-])[\w][\w.%+-]{0,63}(?:@|%40)"
    r"(?:[^\W_](?:[\w-]{0,61}[^\W_])?\.)+[A-Za-z]{2,24}(?![\w-]|\.[A-Za-z])"
)
_RETINA_DOMAIN: Final = re.compile(r"(?:@|%40)\d+(?:\.\d+)?x\.", re.IGNORECASE)


def find_emails(text: str) -> Iterator[Span]:
    """Addresses, also URL-encoded (``%40``) inside query strings; not ``git@host:`` remotes or
    ``icon@2x.png`` assets."""
    for m in _EMAIL.finditer(text):
        value = m.group()
        if _RETINA_DOMAIN.search(value):
            continue
        if value.startswith("git@") and text.startswith(":", m.end()):
            continue
        yield Span(m.start(), m.end(), EntityType.EMAIL)


_IBAN_START: Final = re.compile(r"(?<![A-Za-z0-9])([A-Za-z]{2})(\d{2})(?=[ ]?[A-Za-z0-9])")
_IBAN_BODY: Final = re.compile(r"[ ]?[A-Za-z0-9]")


def find_ibans(text: str) -> Iterator[Span]:
    """Exactly the country's length of characters (single spaces allowed between them), then
    mod 97: a grouped IBAN followed by a word is still found, a longer run is not one."""
    for m in _IBAN_START.finditer(text):
        country = m.group(1).upper()
        length = IBAN_LENGTHS.get(country)
        if length is None:
            continue
        chars = [country, m.group(2)]
        pos, count = m.end(), 4
        while count < length:
            step = _IBAN_BODY.match(text, pos)
            if step is None:
                break
            chars.append(step.group()[-1])
            pos, count = step.end(), count + 1
        if count != length or (pos < len(text) and text[pos].isalnum()):
            continue
        if iban_ok("".join(chars).upper()):
            yield Span(m.start(), pos, EntityType.IBAN)


_CARD: Final = re.compile(r"(?<![\w.,/+-])\d(?:[ -]?\d){11,18}(?![\w/-]|[.,]\d)")
_CARD_GROUPS: Final = re.compile(
    r"\d{4}(?:[ -]\d{4}){2,3}(?:[ -]\d{1,3})?|\d{4}[ -]\d{6}[ -]\d{4,5}"
)
_NOT_A_CARD_BEFORE: Final = re.compile(
    r"(?:order|invoice|tracking|ticket|ref|reference|booking|shipment|parcel|receipt|"
    r"transaction|txn|build|issue|pr|ean|isbn|gtin|upc|serial|imei|id|ts|timestamp)\b\W{0,4}$",
    re.IGNORECASE,
)


def find_cards(text: str) -> Iterator[Span]:
    """12-19 digits, unseparated or in the 4-4-4-4 / 4-6-5 groups cards print, passing Luhn,
    not labelled as an order/ticket/serial number, not a millisecond epoch timestamp."""
    for m in _CARD.finditer(text):
        value = m.group()
        digits = value.replace(" ", "").replace("-", "")
        if len(digits) < 12 or len(digits) > 19 or len(set(digits)) < 2:
            continue
        if not digits.isdigit() or not luhn_ok(digits):
            continue
        if digits != value and not _CARD_GROUPS.fullmatch(value):
            continue
        if len(digits) == 13 and digits[0] == "1":  # epoch ms 2001..2033, also UATP: rare
            continue
        if len(digits) == 12 and digits != value:  # 12-digit cards are printed unbroken
            continue
        if _NOT_A_CARD_BEFORE.search(text, max(0, m.start() - 24), m.start()):
            continue
        yield Span(m.start(), m.end(), EntityType.CREDIT_CARD)


_IPV4: Final = re.compile(
    r"(?<![\w.])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
    r"(?![\w]|\.\d)"
)
_IPV6: Final = re.compile(r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![\w:])")
_VERSION_BEFORE: Final = re.compile(
    r"(?:version|ver|release|build|firmware|kernel|python|node|java|rev|v)\W{0,2}$", re.IGNORECASE
)
_VERSION_AFTER: Final = re.compile(r"[ \t-]?(?:release|version|build|update|beta|alpha|rc)\b", re.I)
_PUBLIC_RESOLVERS: Final = frozenset({"8.8.8.8", "8.8.4.4", "1.1.1.1", "1.0.0.1", "9.9.9.9"})


def find_ips(text: str) -> Iterator[Span]:
    """IPv4 and IPv6 host addresses; not loopback/unspecified/netmasks, well-known public
    resolvers, or four-part version numbers (``version 1.2.0.4``)."""
    for m in _IPV4.finditer(text):
        value = m.group()
        if value in _PUBLIC_RESOLVERS or value.startswith(("127.", "0.", "255.")):
            continue
        if _VERSION_BEFORE.search(text, max(0, m.start() - 10), m.start()):
            continue
        if _VERSION_AFTER.match(text, m.end()):
            continue
        if value.endswith(".0") and text.startswith("/", m.end()):
            continue  # 10.0.0.0/16: a network, not a host
        yield Span(m.start(), m.end(), EntityType.IP_ADDRESS)
    if text.count(":") < 2:
        return
    for m in _IPV6.finditer(text):
        value = m.group()
        if value.count(":") < 2 or sum(ch.isdigit() for ch in value) == 0:
            continue
        try:
            address = ipaddress.IPv6Address(value)
        except ValueError:
            continue
        if address.is_loopback or address.is_unspecified or len(value.replace(":", "")) < 4:
            continue
        yield Span(m.start(), m.end(), EntityType.IP_ADDRESS)


_URL_USERINFO: Final = re.compile(
    r"\b[A-Za-z][A-Za-z0-9+.-]{1,20}://([^\s/@:?#]+:[^\s/@?]+|[^\s/@:?#]{16,})@[\w.-]"
)
_PLACEHOLDER_START: Final = ("$", "{", "<", "%", "*")


def find_url_credentials(text: str) -> Iterator[Span]:
    """``scheme://user:password@host`` (and ``scheme://longtoken@host``): the userinfo, unless
    it is a template (``${USER}:${PASS}``)."""
    for m in _URL_USERINFO.finditer(text):
        userinfo = m.group(1)
        password = userinfo.partition(":")[2] or userinfo
        if password.startswith(_PLACEHOLDER_START):
            continue
        yield Span(m.start(1), m.end(1), EntityType.URL_CREDENTIALS)
