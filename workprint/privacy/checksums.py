"""Check digits of the numbers a pattern alone would confuse with order numbers and timestamps.

A random digit string passes Luhn one time in ten and mod-97 one time in a hundred, so these
turn "looks like a card/IBAN/ID" into "is very probably one".
"""

from __future__ import annotations

from typing import Final


def luhn_ok(digits: str) -> bool:
    """Luhn (mod 10): payment cards, Canadian SIN, Swedish personnummer."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = ord(ch) - 48
        if i % 2:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


# IBAN length per country (ISO 13616 registry).
IBAN_LENGTHS: Final[dict[str, int]] = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22,
    "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28,
    "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23,
    "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26,
    "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20,
    "LV": 21, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MR": 27, "MT": 31, "MU": 30, "NL": 18,
    "NO": 15, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "SA": 24,
    "SC": 31, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "ST": 25, "SV": 28, "TL": 23, "TN": 24,
    "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
}  # fmt: skip


def iban_ok(iban: str) -> bool:
    """ISO 7064 mod 97-10 over the rearranged IBAN (upper-case, no spaces), right length."""
    if IBAN_LENGTHS.get(iban[:2]) != len(iban) or not iban.isalnum():
        return False
    rearranged = iban[4:] + iban[:4]
    number = "".join(str(int(ch, 36)) for ch in rearranged)
    return int(number) % 97 == 1


def us_ssn_ok(area: str, group: str, serial: str) -> bool:
    """SSA never issues area 000 or 666, group 00 or serial 0000 (9xx areas are ITINs: kept)."""
    return area not in ("000", "666") and group != "00" and serial != "0000"


def mod11_weighted_ok(digits: str, weights: tuple[int, ...], *, modulus: int = 11) -> bool:
    """Weighted sum of all digits (check digit included) divisible by the modulus (Dutch BSN
    uses weights 9..2, -1)."""
    return sum(int(d) * w for d, w in zip(digits, weights, strict=True)) % modulus == 0


def nl_bsn_ok(digits: str) -> bool:
    """Dutch BSN: the "elfproef" over 9 digits."""
    return len(digits) == 9 and mod11_weighted_ok(digits, (9, 8, 7, 6, 5, 4, 3, 2, -1))


def pl_pesel_ok(digits: str) -> bool:
    """Polish PESEL: 11 digits, weights 1 3 7 9 repeating, check = (10 - sum mod 10) mod 10."""
    if len(digits) != 11:
        return False
    weights = (1, 3, 7, 9, 1, 3, 7, 9, 1, 3)
    total = sum(int(d) * w for d, w in zip(digits[:10], weights, strict=True))
    return (10 - total % 10) % 10 == int(digits[10])


def br_cpf_ok(digits: str) -> bool:
    """Brazilian CPF: two mod-11 check digits; repeated digits (111.111.111-11) are invalid."""
    if len(digits) != 11 or len(set(digits)) == 1:
        return False
    for n in (9, 10):
        total = sum(int(d) * w for d, w in zip(digits[:n], range(n + 1, 1, -1), strict=True))
        if (total * 10 % 11) % 10 != int(digits[n]):
            return False
    return True


_DNI_LETTERS: Final = "TRWAGMYFPDXBNJZSQVHLCKE"


def es_dni_ok(value: str) -> bool:
    """Spanish DNI (8 digits + letter) or NIE (X/Y/Z + 7 digits + letter): letter = n mod 23."""
    value = value.upper()
    head = value[:-1]
    if head[:1] in ("X", "Y", "Z"):
        head = str("XYZ".index(head[0])) + head[1:]
    return head.isdigit() and _DNI_LETTERS[int(head) % 23] == value[-1]


_HETU_CHECK: Final = "0123456789ABCDEFHJKLMNPRSTUVWXY"


def fi_hetu_ok(value: str) -> bool:
    """Finnish HETU: DDMMYY, century sign, 3 digits, check char = 9 digits mod 31."""
    digits = value[:6] + value[7:10]
    return digits.isdigit() and _HETU_CHECK[int(digits) % 31] == value[10].upper()


def se_personnummer_ok(value: str) -> bool:
    """Swedish personnummer: Luhn over YYMMDDNNNC (the 10 digits after dropping the sign)."""
    digits = value.replace("-", "").replace("+", "")[-10:]
    return len(digits) == 10 and digits.isdigit() and luhn_ok(digits)


def uk_nino_ok(value: str) -> bool:
    """UK National Insurance number: excluded prefix letters and pairs per HMRC."""
    prefix = value[:2].upper()
    if prefix[0] in "DFIQUV" or prefix[1] in "DFIOQUV":
        return False
    return prefix not in ("BG", "GB", "KN", "NK", "NT", "TN", "ZZ")


def de_tax_id_ok(digits: str) -> bool:
    """German Steuer-ID: 11 digits, ISO 7064 mod 11,10 check, first digit not 0."""
    if len(digits) != 11 or digits[0] == "0":
        return False
    product = 10
    for ch in digits[:10]:
        total = (int(ch) + product) % 10 or 10
        product = total * 2 % 11
    return (11 - product) % 10 == int(digits[10])


_VERHOEFF_D: Final = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9), (1, 2, 3, 4, 0, 6, 7, 8, 9, 5), (2, 3, 4, 0, 1, 7, 8, 9, 5, 6),
    (3, 4, 0, 1, 2, 8, 9, 5, 6, 7), (4, 0, 1, 2, 3, 9, 5, 6, 7, 8), (5, 9, 8, 7, 6, 0, 4, 3, 2, 1),
    (6, 5, 9, 8, 7, 1, 0, 4, 3, 2), (7, 6, 5, 9, 8, 2, 1, 0, 4, 3), (8, 7, 6, 5, 9, 3, 2, 1, 0, 4),
    (9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
)  # fmt: skip
_VERHOEFF_P: Final = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9), (1, 5, 7, 6, 2, 8, 3, 0, 9, 4), (5, 8, 0, 3, 7, 9, 6, 1, 4, 2),
    (8, 9, 1, 6, 0, 4, 3, 5, 2, 7), (9, 4, 5, 3, 1, 2, 6, 8, 7, 0), (4, 2, 8, 6, 5, 7, 3, 9, 0, 1),
    (2, 7, 9, 3, 8, 0, 6, 4, 1, 5), (7, 0, 4, 6, 9, 1, 3, 2, 5, 8),
)  # fmt: skip


def verhoeff_ok(digits: str) -> bool:
    """Verhoeff: Indian Aadhaar numbers (12 digits, first not 0 or 1)."""
    check = 0
    for i, ch in enumerate(reversed(digits)):
        check = _VERHOEFF_D[check][_VERHOEFF_P[i % 8][int(ch)]]
    return check == 0
