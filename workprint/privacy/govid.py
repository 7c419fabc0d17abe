"""Government identifiers: US SSN/ITIN and the national ID formats people type into forms.

Formats specific enough to stand alone (dashed SSN, NINO, DNI with its letter, HETU, codice
fiscale, CPF) are matched anywhere and checked; bare digit runs (BSN, PESEL, Steuer-ID,
Aadhaar, SIN, passport and licence numbers) only after a label that names them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Final

from workprint.privacy.checksums import (
    br_cpf_ok,
    de_tax_id_ok,
    es_dni_ok,
    fi_hetu_ok,
    luhn_ok,
    nl_bsn_ok,
    pl_pesel_ok,
    se_personnummer_ok,
    uk_nino_ok,
    us_ssn_ok,
    verhoeff_ok,
)
from workprint.privacy.lexicon import word_set
from workprint.privacy.spans import EntityType, Span

_SSN: Final = re.compile(r"(?<![\w-])(\d{3})([- ])(\d{2})\2(\d{4})(?![\w-]|[.,]\d)")


def _fr_nir_ok(value: str) -> bool:
    digits = value.replace(" ", "").upper().replace("2A", "19").replace("2B", "18")
    return len(digits) == 15 and digits.isdigit() and 97 - int(digits[:13]) % 97 == int(digits[13:])


def _dk_se_ok(value: str) -> bool:
    """DDMMYY-NNNN (Danish CPR, a valid date) or YYMMDD-NNNN (Swedish, Luhn)."""
    if se_personnummer_ok(value):
        return True
    day, month = int(value[:2]), int(value[2:4])
    return 1 <= day <= 31 and 1 <= month <= 12 and value[7:11] != "0000"


# (pattern, check on the matched text) for formats that stand alone.
_STANDALONE: Final[tuple[tuple[re.Pattern[str], Callable[[str], bool]], ...]] = (
    # UK National Insurance number: QQ 12 34 56 C
    (
        re.compile(r"(?<![\w])[A-CEGHJ-PR-TW-Z]{2} ?\d{2} ?\d{2} ?\d{2} ?[A-D](?!\w)"),
        uk_nino_ok,
    ),
    # Spanish DNI / NIE: 12345678Z, X1234567L
    (
        re.compile(r"(?<![\w-])(?:\d{8}|[XYZ]\d{7})-?[A-Z](?![\w-])"),
        lambda v: es_dni_ok(v.replace("-", "")),
    ),
    # Finnish HETU: 131052-308T
    (re.compile(r"(?<![\w-])\d{6}[-+A-FU-Y]\d{3}[0-9A-Y](?![\w-])"), fi_hetu_ok),
    # Italian codice fiscale: RSSMRA85T10A562S
    (
        re.compile(r"(?<![\w])[A-Z]{6}\d{2}[A-EHLMPR-T]\d{2}[A-Z]\d{3}[A-Z](?!\w)"),
        lambda v: True,
    ),
    # Brazilian CPF: 123.456.789-09
    (
        re.compile(r"(?<![\w.-])\d{3}\.\d{3}\.\d{3}-\d{2}(?![\w-]|\.\d)"),
        lambda v: br_cpf_ok(v.replace(".", "").replace("-", "")),
    ),
    # French NIR (sécurité sociale): 1 85 05 78 006 084 36
    (
        re.compile(
            r"(?<![\w])[12] ?\d{2} ?(?:0[1-9]|1[0-2]|[2-9]\d) ?(?:\d{2}|2[ABab]) ?"
            r"\d{3} ?\d{3} ?\d{2}(?![\w])"
        ),
        _fr_nir_ok,
    ),
    # Swedish personnummer / Danish CPR with the dash: 811218-9876
    (re.compile(r"(?<![\w+-])(?:19|20)?\d{6}[-+]\d{4}(?![\w-])"), _dk_se_ok),
    # Indian PAN: ABCPE1234F (the fourth letter says what kind of holder)
    (re.compile(r"(?<![\w])[A-Z]{3}[PCHFATBLJG][A-Z]\d{4}[A-Z](?!\w)"), lambda v: True),
)

# A label, then the number. The value check receives the digits (and letters) only.
_LABELLED: Final = re.compile(
    r"(?P<label>\b(?:ssn|social\s+security(?:\s+(?:no|number|#))?|itin|"
    r"sin|social\s+insurance(?:\s+number)?|bsn|burgerservicenummer|pesel|aadhaar|aadhar|"
    r"steuer-?id|steueridentifikationsnummer|tax\s+id(?:entification)?(?:\s+number)?|"
    r"passport|reisepass|driver'?s?\s+licen[cs]e|driving\s+licen[cs]e|licen[cs]e|dl|"
    r"national\s+id(?:entity)?(?:\s+card)?|id\s+card|identity\s+card|personalausweis|ausweis|"
    r"cpr|personnummer|henkilötunnus|hetu|nir|dni|nie|curp|cpf|nric|tfn|medicare)"
    r"(?:\s+(?:no\.?|nr\.?|number|num|#|id))?)\)?"
    r"\s*(?:is|was|:|#|=|-)?\s*"
    r"(?P<value>(?-i:[A-Z0-9](?:[A-Z0-9]|[ -](?=[A-Z0-9])){4,19}))(?![\w-])",
    re.IGNORECASE,
)
_LABEL_CHECKS: Final[dict[str, Callable[[str], bool]]] = {
    "bsn": nl_bsn_ok,
    "burgerservicenummer": nl_bsn_ok,
    "pesel": pl_pesel_ok,
    "aadhaar": lambda d: len(d) == 12 and d[0] not in "01" and verhoeff_ok(d),
    "aadhar": lambda d: len(d) == 12 and d[0] not in "01" and verhoeff_ok(d),
    "steuer-id": de_tax_id_ok,
    "steuerid": de_tax_id_ok,
    "steueridentifikationsnummer": de_tax_id_ok,
    "sin": lambda d: len(d) == 9 and luhn_ok(d),
}


# The first word of every label above: a text without one of them skips the labelled rule.
_LABEL_WORDS: Final = word_set(
    """
    ssn social itin sin bsn burgerservicenummer pesel aadhaar aadhar steuer steuerid
    steueridentifikationsnummer tax passport reisepass driver driving licence license dl
    national id identity personalausweis ausweis cpr personnummer henkilötunnus hetu nir dni
    nie curp cpf nric tfn medicare
    """
)
_WORD: Final = re.compile(r"[^\W\d_]+")


def find_gov_ids(text: str) -> Iterator[Span]:
    """Every identifier above; overlapping finds are settled by the scanner."""
    for m in _SSN.finditer(text):
        if us_ssn_ok(m.group(1), m.group(3), m.group(4)):
            yield Span(m.start(), m.end(), EntityType.GOV_ID)
    for pattern, check in _STANDALONE:
        for m in pattern.finditer(text):
            if check(m.group()):
                yield Span(m.start(), m.end(), EntityType.GOV_ID)
    done = 0
    for word in _WORD.finditer(text.lower()):  # the label pattern only where a label starts
        if word.start() < done or word.group() not in _LABEL_WORDS:
            continue
        lm = _LABELLED.match(text, word.start())
        if lm is None:
            continue
        done = lm.end()
        value = lm.group("value")
        compact = value.replace(" ", "").replace("-", "")
        if sum(ch.isdigit() for ch in compact) < 5:
            continue
        label = lm.group("label").split()[0].lower()
        label_check = _LABEL_CHECKS.get(label)
        if label_check is not None and not (compact.isdigit() and label_check(compact)):
            continue
        yield Span(lm.start("value"), lm.end("value"), EntityType.GOV_ID)
