"""Reading an uploaded batch: decompress within limits, split the msgpack array (or read the Arrow
stream) element by element, validate each event on its own.

A bad event becomes a ``BadRow`` with msgspec's precise reason and the rest of the batch goes on
(DESIGN.md principle 7); only a body that cannot be read at all, or a batch that is not the
caller's as a whole, is refused as a whole (400/413/415/422). Nothing here raises anything but
``ApiError`` for any input: client bytes never reach an unexpected exception.

What "the caller's own events" means: the store attributes every event to the credential's device
and person, so no field can redirect events elsewhere; the one field naming a device,
``session_start.device``, must name the calling device (its server id, or the agent stream id it
enrolled with as its name), or the batch is refused with 422.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any, Final

import msgspec
import pyarrow as pa
import zstandard

from workprint.collector.arrow_guard import UnsafeArrow, check_stream
from workprint.collector.errors import ApiError
from workprint.collector.settings import CollectorSettings
from workprint.events import Event, SessionStart
from workprint.events.columnar import EVENT_SCHEMA
from workprint.spool.wire import ARROW_CONTENT_TYPE, BATCH_CONTENT_TYPE, BATCH_ID_PATTERN
from workprint.store.interface import BadRow

_ZSTD_STEP: Final = 512  # compressed bytes per step: bounds the output of one step (~22 MiB)
_GZIP_STEP: Final = 1 << 20  # zlib bounds its output itself (max_length)
_MSGPACK_ARRAY: Final = frozenset({*range(0x90, 0xA0), 0xDC, 0xDD})
_MSGPACK_MAP: Final = frozenset({*range(0x80, 0x90), 0xDE, 0xDF})
_KNOWN_COLUMNS: Final = frozenset(EVENT_SCHEMA.names)


class _Envelope(msgspec.Struct, forbid_unknown_fields=True):
    """The map form of a batch: ``{"batch_id": "…", "events": [event, …]}``."""

    events: list[msgspec.Raw]
    batch_id: str | None = None


_raw_list: Final = msgspec.msgpack.Decoder(list[msgspec.Raw])
_envelope: Final = msgspec.msgpack.Decoder(_Envelope)
_event: Final[msgspec.msgpack.Decoder[Event]] = msgspec.msgpack.Decoder(Event)
_events: Final[msgspec.msgpack.Decoder[list[Event]]] = msgspec.msgpack.Decoder(list[Event])
_pack: Final = msgspec.msgpack.Encoder()


@dataclass(frozen=True)
class DecodedBatch:
    batch_id: str
    events: list[Event]
    bad_rows: list[BadRow]

    @property
    def total(self) -> int:
        return len(self.events) + len(self.bad_rows)


def media_type(header: str | None) -> str:
    return (header or "").split(";", 1)[0].strip().lower()


def decode_upload(
    body: bytes,
    *,
    content_type: str | None,
    content_encoding: str | None,
    header_batch_id: str | None,
    device_names: Collection[str],
    settings: CollectorSettings,
    now_ns: int,
) -> DecodedBatch:
    """The whole pipeline for one request body; raises ``ApiError`` for a batch refused whole."""
    kind = media_type(content_type)
    if kind not in (BATCH_CONTENT_TYPE, ARROW_CONTENT_TYPE):
        raise ApiError(
            415, f"Content-Type must be {BATCH_CONTENT_TYPE} or {ARROW_CONTENT_TYPE}, not {kind!r}"
        )
    raw = decompress(body, content_encoding, settings.max_batch_bytes)
    if kind == ARROW_CONTENT_TYPE:
        batch_id = _check_batch_id(header_batch_id, None)
        items = _arrow_rows(raw, settings)
    else:
        batch_id, items = _msgpack_elements(raw, header_batch_id, settings)
    horizon = now_ns + int(settings.max_clock_skew_s * 1e9)
    whole = raw if kind == BATCH_CONTENT_TYPE and raw[0] in _MSGPACK_ARRAY else None
    events, bad = validate_events(items, horizon, settings.max_event_bytes, whole)
    for event in events:
        if isinstance(event, SessionStart) and event.device not in device_names:
            raise ApiError(
                422,
                f"the batch holds a session_start of device {event.device[:64]!r}, which is not "
                "the device this credential belongs to",
            )
    return DecodedBatch(batch_id, events, bad)


def decompress(body: bytes, encoding: str | None, limit: int) -> bytes:
    """Undo Content-Encoding (zstd, gzip or none) without ever holding more than ``limit``."""
    name = (encoding or "identity").strip().lower()
    if name == "identity":
        data = body
    elif name == "zstd":
        data = _bounded(body, limit, "zstd", _zstd_chunks)
    elif name in ("gzip", "x-gzip"):
        data = _bounded(body, limit, "gzip", _gzip_chunks)
    else:
        raise ApiError(415, f"Content-Encoding must be zstd, gzip or identity, not {name[:40]!r}")
    if len(data) > limit:
        raise ApiError(413, f"the batch is more than {limit} bytes uncompressed")
    if not data:
        raise ApiError(400, "the body is empty")
    return data


def _bounded(body: bytes, limit: int, name: str, chunks: Callable[[bytes], Any]) -> bytes:
    out = bytearray()
    try:
        for piece in chunks(body):
            out += piece
            if len(out) > limit:
                raise ApiError(413, f"the batch is more than {limit} bytes uncompressed")
    except (zstandard.ZstdError, zlib.error) as exc:
        raise ApiError(400, f"the body is not valid {name}: {exc}") from None
    return bytes(out)


def _zstd_chunks(body: bytes) -> Any:
    """Every frame in the body, fed a little at a time so that a bomb is caught early; a
    truncated frame or trailing garbage is an error (the library would silently ignore both)."""
    view = memoryview(body)
    while view:
        obj = zstandard.ZstdDecompressor().decompressobj()
        while view and not obj.eof:
            step, view = view[:_ZSTD_STEP], view[_ZSTD_STEP:]
            yield obj.decompress(bytes(step))
        if not obj.eof:
            raise zstandard.ZstdError("truncated: the last frame is incomplete")
        view = memoryview(obj.unused_data) if obj.unused_data else view


def _gzip_chunks(body: bytes) -> Any:
    data = body
    while data:
        obj = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        pending = data
        while pending and not obj.eof:
            yield obj.decompress(pending, _GZIP_STEP)
            pending = obj.unconsumed_tail
        if not obj.eof:
            raise zlib.error("truncated: the last member is incomplete")
        data = obj.unused_data


def _check_batch_id(header: str | None, body: str | None) -> str:
    if header is not None and body is not None and header != body:
        raise ApiError(422, "the batch id in the header and in the body differ")
    batch_id = header if header is not None else body
    if batch_id is None:
        raise ApiError(422, "no batch id: send the X-Workprint-Batch-Id header")
    if not BATCH_ID_PATTERN.fullmatch(batch_id):
        raise ApiError(422, "a batch id is 1 to 64 characters of A-Z a-z 0-9 _ -")
    return batch_id


def _msgpack_elements(
    raw: bytes, header_batch_id: str | None, settings: CollectorSettings
) -> tuple[str, list[bytes | msgspec.Raw]]:
    first = raw[0]
    body_batch_id = None
    try:
        if first in _MSGPACK_ARRAY:
            elements: list[msgspec.Raw] = _raw_list.decode(raw)
        elif first in _MSGPACK_MAP:
            envelope = _envelope.decode(raw)
            elements, body_batch_id = envelope.events, envelope.batch_id
        else:
            raise ApiError(400, "the body is not a msgpack array (or map) of events")
    except msgspec.ValidationError as exc:
        raise ApiError(422, f"not a batch: {exc}") from None
    except msgspec.DecodeError as exc:
        raise ApiError(400, f"the body is not valid msgpack: {exc}") from None
    batch_id = _check_batch_id(header_batch_id, body_batch_id)
    _check_count(len(elements), settings)
    return batch_id, list(elements)


def _check_count(n: int, settings: CollectorSettings) -> None:
    if n > settings.max_batch_events:
        raise ApiError(
            413, f"the batch holds {n} events, more than the limit of {settings.max_batch_events}"
        )


def _arrow_rows(raw: bytes, settings: CollectorSettings) -> list[bytes | msgspec.Raw]:
    """An Arrow IPC stream → one msgpack map per row, validated below like msgpack events."""
    try:
        check_stream(raw)
        reader = pa.ipc.open_stream(pa.BufferReader(raw))
        table = reader.read_all()
        table.validate(full=True)
    except UnsafeArrow as exc:
        raise ApiError(422, f"Arrow IPC stream refused: {exc}") from None
    except (pa.ArrowException, ValueError, OSError) as exc:
        raise ApiError(400, f"the body is not a valid Arrow IPC stream: {exc}") from None
    unknown = [name for name in table.column_names if name not in _KNOWN_COLUMNS]
    if unknown or "type" not in table.column_names:
        what = f"unknown columns {unknown[:5]}" if unknown else "no 'type' column"
        raise ApiError(422, f"not an event table: {what} (see docs/events.md)")
    _check_count(table.num_rows, settings)
    rows: list[bytes | msgspec.Raw] = []
    for row in table.to_pylist():
        fields = {k: v for k, v in row.items() if v is not None}
        try:
            rows.append(_pack.encode(fields))
        except (TypeError, ValueError, OverflowError) as exc:
            rows.append(_pack.encode({"unencodable": str(exc)}))
    return rows


def validate_events(
    items: Sequence[bytes | msgspec.Raw],
    horizon_ns: int,
    max_event_bytes: int,
    whole: bytes | None = None,
) -> tuple[list[Event], list[BadRow]]:
    """Good events in order, and a bad row per element that is not one (with why).

    ``whole`` is the array the items came from, if there is one: decoded in one call first."""
    events: list[Event] = []
    bad: list[BadRow] = []
    seqs: set[int] = set()
    decoded: list[Event] | None = None
    if all(len(item) <= max_event_bytes for item in items):
        try:  # the common case: everything is fine, decoded in one call
            decoded = _events.decode(whole if whole is not None else _join(items))
        except (msgspec.ValidationError, msgspec.DecodeError):
            decoded = None
        if (
            decoded
            and max(e.t for e in decoded) <= horizon_ns
            and len({e.seq for e in decoded}) == len(decoded)
        ):
            return decoded, bad  # no event needs a closer look
    for index, item in enumerate(items):
        if len(item) > max_event_bytes:
            reason = f"the event is {len(item)} bytes, more than the limit of {max_event_bytes}"
            bad.append(BadRow(index=index, reason=reason, raw=bytes(item)[:max_event_bytes]))
            continue
        if decoded is not None:
            event = decoded[index]
        else:
            try:
                event = _event.decode(item)
            except (msgspec.ValidationError, msgspec.DecodeError) as exc:
                bad.append(BadRow(index=index, reason=str(exc), raw=bytes(item)))
                continue
        problem = _semantic_problem(event, seqs, horizon_ns)
        if problem is not None:
            bad.append(BadRow(index=index, reason=problem, raw=bytes(item)))
            continue
        seqs.add(event.seq)
        events.append(event)
    return events, bad


def _semantic_problem(event: Event, seqs: set[int], horizon_ns: int) -> str | None:
    if event.t > horizon_ns:
        ahead = (event.t - horizon_ns) / 1e9
        return f"t is {ahead:.0f} s beyond the allowed clock skew: the device clock is wrong"
    if event.seq in seqs:
        return f"seq {event.seq} appears earlier in this batch"
    return None


def _join(items: Sequence[bytes | msgspec.Raw]) -> bytes:
    """Re-frame elements as one msgpack array (cheap: no decoding)."""
    n = len(items)
    if n < 16:
        header = bytes([0x90 | n])
    elif n < 2**16:
        header = b"\xdc" + n.to_bytes(2, "big")
    else:
        header = b"\xdd" + n.to_bytes(4, "big")
    return header + b"".join(bytes(item) for item in items)
