"""Each detector type: what it must find (exact span and type) and the look-alikes it must leave
alone (order numbers, versions, commit hashes, timestamps, UUIDs, prices, ...)."""

from __future__ import annotations

from itertools import pairwise

import pytest

from workprint.privacy import EntityType, scan_text
from workprint.privacy.checksums import (
    br_cpf_ok,
    de_tax_id_ok,
    es_dni_ok,
    fi_hetu_ok,
    iban_ok,
    luhn_ok,
    nl_bsn_ok,
    pl_pesel_ok,
    uk_nino_ok,
    verhoeff_ok,
)

T = EntityType


def found(text: str) -> list[tuple[str, EntityType]]:
    return [(text[s.start : s.end], s.type) for s in scan_text(text)]


POSITIVES: list[tuple[str, str, EntityType]] = [
    # PERSON
    ("Dear Ms. Okonkwo, thank you", "Okonkwo", T.PERSON),
    ("Thanks Jürgen! see you", "Jürgen", T.PERSON),
    ("Spoke to Ingrid Halvorsen from procurement", "Ingrid Halvorsen", T.PERSON),
    ("Name: Iva D. Grusová", "Iva D. Grusová", T.PERSON),
    ("my name is antti and I code", "antti", T.PERSON),
    ("Regards,\nSiobhan O'Sullivan\nAccount Manager", "Siobhan O'Sullivan", T.PERSON),
    ("@marta.kowalczyk the build is red", "@marta.kowalczyk", T.PERSON),
    ("follow up with patricia desrosiers next week", "patricia desrosiers", T.PERSON),
    # PERSON: names in no list, rare in English, told by their place in the sentence
    ("Vatrenka is very reliable, ask her", "Vatrenka", T.PERSON),
    ("I want to add Oldrava Miskuchin as a co-owner", "Oldrava Miskuchin", T.PERSON),
    ("the song was written by Brezhovik in 1977", "Brezhovik", T.PERSON),
    ("that was Tamolija's idea, not mine", "Tamolija", T.PERSON),
    # EMAIL
    (
        "write to anna.schmidt+work@mail.example.de today",
        "anna.schmidt+work@mail.example.de",
        T.EMAIL,
    ),
    ("https://x.example/?to=peter.holm%40example.dk&a=1", "peter.holm%40example.dk", T.EMAIL),
    # PHONE
    ("call me on +44 7700 900123 please", "+44 7700 900123", T.PHONE),
    ("Mobile: 0176 2345 6789", "0176 2345 6789", T.PHONE),
    ("my cell is (415) 555-0132", "(415) 555-0132", T.PHONE),
    ("Desk: +41 (0)96 471 07 95", "+41 (0)96 471 07 95", T.PHONE),
    ("Fax: 9498777106", "9498777106", T.PHONE),
    ("just text me, 06 12 34 56 78", "06 12 34 56 78", T.PHONE),
    ("+1-903-140-4508x769", "+1-903-140-4508x769", T.PHONE),
    ("I gave them 03662 585178 yesterday", "03662 585178", T.PHONE),
    ("Is 797-386-9073 your landline?", "797-386-9073", T.PHONE),
    ("reach me at (+358) 40 123 4567 after 5", "(+358) 40 123 4567", T.PHONE),
    # CREDIT_CARD
    ("card 4111 1111 1111 1111 exp 09/27", "4111 1111 1111 1111", T.CREDIT_CARD),
    ("amex 378282246310005 ok", "378282246310005", T.CREDIT_CARD),
    ("paid with 5105-1051-0510-5100", "5105-1051-0510-5100", T.CREDIT_CARD),
    # GOV_ID
    ("SSN 078-05-1120 on file", "078-05-1120", T.GOV_ID),
    ("National Insurance number: AS 06 81 57 A", "AS 06 81 57 A", T.GOV_ID),
    ("DNI 37267733M", "37267733M", T.GOV_ID),
    ("NIE: X8171579R", "X8171579R", T.GOV_ID),
    ("Henkilötunnus: 270579-0393", "270579-0393", T.GOV_ID),
    ("CPF: 953.816.133-50", "953.816.133-50", T.GOV_ID),
    ("BSN: 995822542", "995822542", T.GOV_ID),
    ("Steuer-ID: 29220011924", "29220011924", T.GOV_ID),
    ("PESEL: 90063943699", "90063943699", T.GOV_ID),
    ("Aadhaar: 4723 2677 4565", "4723 2677 4565", T.GOV_ID),
    ("My driver's license number is F162823540116", "F162823540116", T.GOV_ID),
    ("N° de sécurité sociale : 1 98 01 37 880 768 74", "1 98 01 37 880 768 74", T.GOV_ID),
    ("codice fiscale RSSMRA85T10A562S", "RSSMRA85T10A562S", T.GOV_ID),
    # IBAN
    ("IBAN DE89 3704 0044 0532 0130 00 thanks", "DE89 3704 0044 0532 0130 00", T.IBAN),
    ("to gb82west12345698765432 asap", "gb82west12345698765432", T.IBAN),
    # IP_ADDRESS
    ("blocked from 195.206.132.199 again", "195.206.132.199", T.IP_ADDRESS),
    ("bastion 2001:db8:85a3::8a2e:370:7334 is up", "2001:db8:85a3::8a2e:370:7334", T.IP_ADDRESS),
    ("ssh deploy@10.20.30.41", "10.20.30.41", T.IP_ADDRESS),
    # ADDRESS
    (
        "ship to 221 Baker Street, London NW1 6XE. Thanks",
        "221 Baker Street, London NW1 6XE",
        T.ADDRESS,
    ),
    (
        "offsite at Schönhauser Allee 36, 10435 Berlin. Doors at 9",
        "Schönhauser Allee 36, 10435 Berlin",
        T.ADDRESS,
    ),
    (
        "Working from Via Tasso 129, 80127 Napoli this week",
        "Via Tasso 129, 80127 Napoli",
        T.ADDRESS,
    ),
    ("PSC 3294, Box 9168\nAPO AA 61487", "PSC 3294, Box 9168\nAPO AA 61487", T.ADDRESS),
    ("my zip code is 35350", "35350", T.ADDRESS),
    (
        "new office: Anna-Seghers-Ring 27/81, 77412 Wolgast",
        "Anna-Seghers-Ring 27/81, 77412 Wolgast",
        T.ADDRESS,
    ),
    ("We moved to Nordbergkollen 6, 0850 Oslo last week", "Nordbergkollen 6, 0850 Oslo", T.ADDRESS),
    (
        "deliver to Gerritsteeg 2, 1276 QE Winterswijk",
        "Gerritsteeg 2, 1276 QE Winterswijk",
        T.ADDRESS,
    ),
    ("the shop on rue de la Croix is closed", "rue de la Croix", T.ADDRESS),
    ("Strada Vento, 298 is the door", "Strada Vento, 298", T.ADDRESS),
    # DATE_OF_BIRTH
    ("Date of birth: 1991-07-23", "1991-07-23", T.DATE_OF_BIRTH),
    ("She was born on 10/23/1951. Her", "10/23/1951", T.DATE_OF_BIRTH),
    ("my DOB is 12 March 1985 if HR asks", "12 March 1985", T.DATE_OF_BIRTH),
    ("Geburtsdatum: 03.05.1979", "03.05.1979", T.DATE_OF_BIRTH),
    # URL_CREDENTIALS
    ("https://admin:Sup3rS3cret@git.example.com/x.git", "admin:Sup3rS3cret", T.URL_CREDENTIALS),
    ("postgres://app:Xk9#pLm2vQ@db.internal:5432/app", "app:Xk9#pLm2vQ", T.URL_CREDENTIALS),
]


@pytest.mark.parametrize(("text", "value", "entity"), POSITIVES)
def test_finds(text: str, value: str, entity: EntityType) -> None:
    assert (value, entity) in found(text)


LOOK_ALIKES: list[str] = [
    "ticket PROJ-4821, order #8834112, invoice INV-2024-00871",
    "Order ID: 3000-7781-2231 and tracking 1Z999AA10123456784",
    "Timestamp 1700000000000 and epoch 1732350000",
    "merged 3f9c2ab; full sha 7e7893f57fd14c1604d115cea325a65e19cbae53",
    "id 550e8400-e29b-41d4-a716-446655440000",
    "version 10.4.2.1 and release 2.3.1, Python 3.12.1",
    "the 1.2.3.4 release is ready",
    "meeting at 17:45 on 2024-11-23, deadline 2025-01-31",
    "lunch at 12:30, room 4.12, build 2024.11.23.1",
    "Price 1,299.00 EUR, total $4,320.50, 12,345,678 requests",
    "ISBN 978-3-16-148410-0 and EAN 4006381333931",
    "ping 127.0.0.1 and 8.8.8.8 and 0.0.0.0 and 255.255.255.0",
    "coordinates 52.5200, 13.4050",
    "digest sha256:ea2b5991661a7e38d6315f35645d282760ee88e4ebf73422574d909c5b1268b4",
    "Device MAC 00:1A:2B:3C:4D:5E and time 10:20:30",
    "Your verification code is 739201",
    "the token is expired, regenerate it",
    "password: str = Field(...)",
    "api_key: ${API_KEY}",
    'secret: "{{ vault_secret }}"',
    "MAX_TOKENS = 4096",
    "logo@2x.png and icon@3x.svg",
    "git@github.com:acme/api.git",
    "Quarterly Report Draft v3.docx - Word",
    "Merry Christmas and happy new year",
    "The Big Three of Detroit: General Motors, Ford and Chrysler",
    "Reminder: your card ending in 4821 will be charged",
    "Reference: RF18 5390 0754 7034",
    "Customer number 7730021",
    "weather berlin tomorrow",
    "python asyncio gather exceptions",
    # products, firms and headers are capitalised and rare in English too: not people
    "We deployed OpenCUA and NumPy on PostgreSQL",
    "Set Content-Encoding to gzip",
    "I work for Zentravix now",
    "Ventrolia is a design agency in Oslo",
    "Kubernetes 1.29 is out",
    "order 0123 456 789 shipped",
]


@pytest.mark.parametrize("text", LOOK_ALIKES)
def test_leaves_look_alikes(text: str) -> None:
    assert found(text) == []


def test_spans_index_the_original_text_and_do_not_overlap() -> None:
    text = "Hi Anna Berg, card 4111 1111 1111 1111, mail anna@example.com, ☎ +49 30 901820"
    spans = scan_text(text)
    assert [s.type for s in spans] == [T.PERSON, T.CREDIT_CARD, T.EMAIL, T.PHONE]
    for a, b in pairwise(spans):
        assert a.end <= b.start
    assert text[spans[0].start : spans[0].end] == "Anna Berg"


def test_an_address_line_keeps_its_name_separate() -> None:
    text = (
        "Billing address: Sara Schwarz\n    28245 Puruntie 82 Apt. 595\n   LAPPEENRANTA\n    53650"
    )
    assert found(text) == [
        ("Sara Schwarz", T.PERSON),
        ("28245 Puruntie 82 Apt. 595\n   LAPPEENRANTA\n    53650", T.ADDRESS),
    ]


def test_a_unit_before_the_street_starts_the_address() -> None:
    text = "Flat 12\nHarbour Court\nLS1 4AB"
    assert found(text) == [(text, T.ADDRESS)]


def test_a_house_number_before_a_street_is_not_a_phone() -> None:
    text = "ship to 03262 2437 Main St Suite 442"
    assert found(text) == [("03262 2437 Main St Suite 442", T.ADDRESS)]


def test_checksums_accept_valid_and_reject_one_digit_off() -> None:
    valid = {
        luhn_ok: "4111111111111111",
        iban_ok: "DE89370400440532013000",
        nl_bsn_ok: "995822542",
        pl_pesel_ok: "90063943699",
        br_cpf_ok: "95381613350",
        de_tax_id_ok: "29220011924",
        verhoeff_ok: "472326774565",
        es_dni_ok: "37267733M",
        fi_hetu_ok: "270579-0393",
    }
    for check, value in valid.items():
        assert check(value), (check.__name__, value)
        last = value[-1]
        if last.isdigit():
            assert not check(value[:-1] + str((int(last) + 1) % 10)), check.__name__
    assert uk_nino_ok("AS068157A") and not uk_nino_ok("QQ123456C")
