"""Redaction: typed placeholders, per-release surrogates, overlap settling, Arrow columns."""

from __future__ import annotations

import pyarrow as pa
import pytest

from workprint.privacy import (
    EntityType,
    Span,
    Surrogates,
    redact,
    redact_column,
    scan_and_redact,
    scan_column,
    scan_texts,
)
from workprint.privacy.spans import resolve

T = EntityType


def test_placeholders_replace_each_span_and_keep_the_rest() -> None:
    text = "mail anna@example.com or call +44 7700 900123 today"
    redacted, spans = scan_and_redact(text)
    assert redacted == "mail <EMAIL> or call <PHONE> today"
    assert [text[s.start : s.end] for s in spans] == ["anna@example.com", "+44 7700 900123"]


def test_surrogates_are_consistent_within_a_release_and_differ_across() -> None:
    release = Surrogates(b"k" * 32)
    a = release(T.EMAIL, "Anna@Example.com")
    assert a == release(T.EMAIL, "anna@example.com")  # case does not make a new person
    assert a.startswith("<EMAIL_") and len(a) == len("<EMAIL_12345678>")
    assert release(T.PHONE, "+49 170 1234567") == release(T.PHONE, "+491701234567")
    assert release(T.EMAIL, "bob@example.com") != a
    assert Surrogates(b"j" * 32)(T.EMAIL, "anna@example.com") != a
    assert Surrogates.new()(T.EMAIL, "x@y.z") != Surrogates.new()(T.EMAIL, "x@y.z")
    with pytest.raises(ValueError):
        Surrogates(b"short")


def test_redact_with_surrogates_links_repeated_values() -> None:
    text = "cc anna@example.com; reply to anna@example.com"
    release = Surrogates(b"r" * 32)
    redacted, _ = scan_and_redact(text, release)
    token = release(T.EMAIL, "anna@example.com")
    assert redacted == f"cc {token}; reply to {token}"


def test_a_redacted_text_scanned_again_finds_nothing_in_its_surrogates() -> None:
    """The release gate re-scans what it redacted: its own surrogates must not read as secrets."""
    text = "card 4111 1111 1111 1111, iban DE89370400440532013000, mail anna@example.com"
    release = Surrogates(b"s" * 32)
    redacted, first = scan_and_redact(text, release)
    assert {s.type for s in first} == {T.CREDIT_CARD, T.IBAN, T.EMAIL}
    assert scan_texts([redacted]) == [[]]
    # the same shape outside angle brackets is judged like any other token
    bare = redacted.replace("<", " ").replace(">", "Qz9Lm2 ")
    assert any(s.type is T.SECRET for s in scan_texts([bare])[0])


def test_redact_rejects_overlapping_spans() -> None:
    with pytest.raises(ValueError):
        redact("abcdef", [Span(0, 3, T.PERSON), Span(2, 4, T.EMAIL)])


def test_resolve_prefers_priority_then_length_and_drops_losers_whole() -> None:
    spans = [
        Span(0, 30, T.ADDRESS),
        Span(5, 21, T.CREDIT_CARD),
        Span(40, 45, T.PERSON),
        Span(40, 50, T.PERSON),
        Span(60, 60, T.PERSON),
    ]
    assert resolve(spans) == [Span(5, 21, T.CREDIT_CARD), Span(40, 50, T.PERSON)]


def test_scan_texts_is_one_list_per_text_in_order() -> None:
    texts = ["nothing here", "SSN 078-05-1120", "", "ping 10.1.2.3"]
    result = scan_texts(texts)
    assert [[s.type for s in spans] for spans in result] == [[], [T.GOV_ID], [], [T.IP_ADDRESS]]


@pytest.mark.parametrize("kind", [pa.string(), pa.large_string()])
def test_redact_column_keeps_type_length_and_nulls(kind: pa.DataType) -> None:
    column = pa.array(["key AKIA4TFJGVQ4K7BN7XJ8", None, "hello", ""], type=kind)
    out = redact_column(column)
    assert out.type == kind
    assert out.to_pylist() == ["key <SECRET>", None, "hello", ""]


def test_redact_column_accepts_chunked_arrays_and_surrogates() -> None:
    column = pa.chunked_array([["a@b.co"], ["a@b.co", None]])
    release = Surrogates(b"c" * 16)
    token = release(T.EMAIL, "a@b.co")
    assert redact_column(column, release).to_pylist() == [token, token, None]


def test_redact_column_refuses_non_string_columns() -> None:
    with pytest.raises(TypeError):
        redact_column(pa.array([1, 2]))


def test_scan_column_gives_list_of_structs() -> None:
    out = scan_column(pa.array(["call +44 7700 900123", None]))
    assert out.to_pylist() == [[{"start": 5, "end": 20, "type": "PHONE"}], None]
