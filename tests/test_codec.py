"""The JSONL and msgpack wire forms: exact round trips for every event type, and bad input that
never raises, is reported per line with a reason, and does not cost the good lines around it."""

from __future__ import annotations

import io
import json

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import event_lists, event_of, events

from workprint.events import (
    EVENT_TYPES,
    BadLine,
    Event,
    EventBase,
    MouseMove,
    decode_batch,
    decode_json_line,
    encode_batch,
    encode_jsonl,
    iter_jsonl,
)
from workprint.events.codec import MAX_LINE_BYTES

WHITESPACE = b" \t\r\n\x0b\x0c"


def _lines(blob: bytes) -> list[Event | BadLine]:
    return list(iter_jsonl(io.BytesIO(blob)))


@pytest.mark.parametrize("cls", EVENT_TYPES, ids=lambda cls: cls.__name__)
@settings(max_examples=150)
@given(data=st.data())
def test_every_type_round_trips_exactly(cls: type[EventBase], data: st.DataObject) -> None:
    event = data.draw(event_of(cls))
    line = encode_jsonl([event])
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    decoded = decode_json_line(line)
    assert decoded == event and type(decoded) is cls
    assert encode_jsonl([decoded]) == line  # the text form is canonical, byte for byte
    assert decode_batch(encode_batch([event])) == [event]


@settings(max_examples=300)
@given(event_lists(max_size=40))
def test_jsonl_round_trip_of_mixed_streams(batch: list[Event]) -> None:
    blob = encode_jsonl(batch)
    decoded = _lines(blob)
    assert decoded == batch
    assert encode_jsonl(decoded) == blob  # type: ignore[arg-type]


@settings(max_examples=300)
@given(event_lists(max_size=40))
def test_msgpack_round_trip(batch: list[Event]) -> None:
    packed = encode_batch(batch)
    assert decode_batch(packed) == batch
    assert encode_batch(decode_batch(packed)) == packed


@settings(max_examples=500, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300))
def test_arbitrary_bytes_never_raise(blob: bytes) -> None:
    results = _lines(blob)
    nonblank = [n for n, raw in enumerate(io.BytesIO(blob), 1) if raw.strip(WHITESPACE)]
    assert len(results) == len(nonblank)
    for number, result in zip(nonblank, results, strict=True):
        if isinstance(result, BadLine):
            assert result.line == number
            assert result.reason.strip()
            assert "\n" not in result.reason


@settings(max_examples=300)
@given(st.lists(st.text(max_size=80), max_size=8))
def test_arbitrary_text_lines_never_raise(texts: list[str]) -> None:
    lines = [t.encode("utf-8", "surrogatepass") for t in texts]
    for result in iter_jsonl(lines):
        assert isinstance(result, BadLine | EventBase)
        if isinstance(result, BadLine):
            assert result.reason


def _break(event: Event, how: str, cut: int) -> bytes:
    """A line that was ``event`` and is now certainly invalid, in one of several ways."""
    doc = msgspec.to_builtins(event)
    line = json.dumps(doc).encode()
    if how == "missing-required":
        del doc["t"]
    elif how == "unknown-type":
        doc["type"] = "no_such_event"
    elif how == "no-type":
        del doc["type"]
    elif how == "negative-time":
        doc["t"] = -1
    elif how == "wrong-kind":
        doc["session"] = 12
    elif how == "not-an-object":
        return json.dumps([doc]).encode()
    elif how == "truncated":
        return line[: 1 + cut % (len(line) - 1)]
    elif how == "not-utf8":
        return line[:-1] + b'"\xff\xfe"}'
    elif how == "trailing-garbage":
        return line + b" }"
    return json.dumps(doc).encode()


BREAKS = (
    "missing-required",
    "unknown-type",
    "no-type",
    "negative-time",
    "wrong-kind",
    "not-an-object",
    "truncated",
    "not-utf8",
    "trailing-garbage",
)


@settings(max_examples=300)
@given(
    st.lists(
        st.one_of(
            events().map(lambda e: ("good", e, "", 0)),
            st.tuples(st.just("bad"), events(), st.sampled_from(BREAKS), st.integers(0, 10_000)),
            st.just(("blank", None, "", 0)),
        ),
        max_size=25,
    )
)
def test_good_lines_around_bad_ones_are_kept(
    plan: list[tuple[str, Event | None, str, int]],
) -> None:
    blob = bytearray()
    expected_good: list[Event] = []
    expected_bad: list[int] = []
    for number, (kind, event, how, cut) in enumerate(plan, start=1):
        if kind == "good":
            assert event is not None
            blob += encode_jsonl([event])
            expected_good.append(event)
        elif kind == "bad":
            assert event is not None
            blob += _break(event, how, cut) + b"\n"
            expected_bad.append(number)
        else:
            blob += b"   \n"
    results = _lines(bytes(blob))
    assert [r for r in results if not isinstance(r, BadLine)] == expected_good
    bad = [r for r in results if isinstance(r, BadLine)]
    assert [b.line for b in bad] == expected_bad
    assert all(b.reason and "\n" not in b.reason for b in bad)


def test_bad_line_reasons_say_what_is_wrong() -> None:
    good = MouseMove(t=1, session="s", x=1, y=2)
    blob = b"\n".join(
        [
            encode_jsonl([good]).strip(),
            b'{"type":"mouse_move","session":"s","x":1,"y":2}',
            b'{"type":"teleport","t":1,"session":"s"}',
            b'{"type":"mouse_move","t":-5,"session":"s","x":1,"y":2}',
            b"not json",
            encode_jsonl([good]).strip(),
        ]
    )
    results = _lines(blob)
    assert results[0] == good and results[-1] == good
    reasons = {r.line: r.reason for r in results if isinstance(r, BadLine)}
    assert set(reasons) == {2, 3, 4, 5}
    assert "t" in reasons[2]
    assert "teleport" in reasons[3]
    assert ">= 0" in reasons[4]


def test_overlong_line_is_rejected_without_decoding() -> None:
    huge = b'{"type":"gap","t":1,"session":"s","reason":"' + b"x" * MAX_LINE_BYTES + b'"}'
    results = _lines(huge + b"\n" + encode_jsonl([MouseMove(t=1, session="s", x=0, y=0)]))
    assert isinstance(results[0], BadLine) and results[0].line == 1
    assert "bytes" in results[0].reason
    assert isinstance(results[1], MouseMove)
