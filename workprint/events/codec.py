"""Wire forms of the event model: JSON Lines (interchange, docs/events.md) and msgpack batches
(spool and upload). Decoding never raises on bad input: each bad line becomes a ``BadLine`` with
its line number and a precise reason, and the good lines are kept."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Final

import msgspec

from workprint.events.model import Event

MAX_LINE_BYTES: Final = 1 << 20

_json_encoder = msgspec.json.Encoder()
_json_decoder: msgspec.json.Decoder[Event] = msgspec.json.Decoder(Event)
_pack_encoder = msgspec.msgpack.Encoder()
_batch_decoder: msgspec.msgpack.Decoder[list[Event]] = msgspec.msgpack.Decoder(list[Event])


class BadLine(msgspec.Struct, frozen=True):
    """A line of interchange input that could not be read as an event."""

    line: int
    reason: str


def encode_jsonl(events: Iterable[Event]) -> bytes:
    """Encode events as JSON Lines: one compact object per line, each ending in a newline."""
    buf = bytearray()
    for event in events:
        _json_encoder.encode_into(event, buf, len(buf))
        buf += b"\n"
    return bytes(buf)


def decode_json_line(line: bytes | str) -> Event:
    """Decode one JSON object as an event; raises ``msgspec.ValidationError``/``DecodeError``."""
    return _json_decoder.decode(line)


def iter_jsonl(lines: Iterable[bytes]) -> Iterator[Event | BadLine]:
    """Decode JSON Lines, yielding an event or a ``BadLine`` per non-blank line, in order."""
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line:
            continue
        if len(line) > MAX_LINE_BYTES:
            yield BadLine(number, f"line is {len(line)} bytes, more than {MAX_LINE_BYTES}")
            continue
        try:
            yield _json_decoder.decode(line)
        except (msgspec.ValidationError, msgspec.DecodeError) as exc:
            yield BadLine(number, str(exc))
        except UnicodeDecodeError as exc:
            yield BadLine(number, f"not UTF-8: {exc.reason} at byte {exc.start}")


def encode_batch(events: list[Event]) -> bytes:
    """Encode a batch of events as one msgpack array (the spool and upload form)."""
    return _pack_encoder.encode(events)


def decode_batch(data: bytes) -> list[Event]:
    """Decode a msgpack batch; raises ``msgspec.ValidationError``/``DecodeError`` if malformed."""
    return _batch_decoder.decode(data)
