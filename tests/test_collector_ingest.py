"""The collector's batch reader on its own: every way a body can be wrong is a precise refusal
(or a bad row with its reason) and the good events of a batch always survive."""

from __future__ import annotations

import gzip
import time
import zlib

import msgspec
import pyarrow as pa
import pytest
import zstandard

from tests.collector_support import sample_events
from workprint.collector.errors import ApiError
from workprint.collector.ingest import DecodedBatch, decode_upload
from workprint.collector.settings import CollectorSettings
from workprint.events import MouseMove, SessionStart, encode_batch
from workprint.events.columnar import events_to_table
from workprint.spool.wire import ARROW_CONTENT_TYPE, BATCH_CONTENT_TYPE

SETTINGS = CollectorSettings(max_batch_bytes=1 << 20, max_batch_events=1000, max_event_bytes=512)
DEVICE = "d" * 32


def decode(
    body: bytes,
    *,
    encoding: str | None = "zstd",
    content_type: str = BATCH_CONTENT_TYPE,
    batch_id: str | None = "b1",
    settings: CollectorSettings = SETTINGS,
) -> DecodedBatch:
    return decode_upload(
        body,
        content_type=content_type,
        content_encoding=encoding,
        header_batch_id=batch_id,
        device_names={DEVICE},
        settings=settings,
        now_ns=time.time_ns(),
    )


def zstd(data: bytes) -> bytes:
    return zstandard.ZstdCompressor().compress(data)


def refused(body: bytes, status: int, **kwargs: object) -> str:
    with pytest.raises(ApiError) as info:
        decode(body, **kwargs)  # type: ignore[arg-type]
    assert info.value.status == status, info.value.message
    return info.value.message


def test_a_good_batch_decodes_in_every_encoding() -> None:
    events = sample_events(50, device=DEVICE)
    raw = encode_batch(events)
    for body, encoding in ((zstd(raw), "zstd"), (gzip.compress(raw), "gzip"), (raw, None)):
        batch = decode(body, encoding=encoding)
        assert batch.events == events and batch.bad_rows == [] and batch.batch_id == "b1"


def test_a_bad_event_becomes_a_bad_row_and_the_rest_is_kept() -> None:
    events = sample_events(10)
    elements = [msgspec.msgpack.encode(e) for e in events]
    elements[3] = msgspec.msgpack.encode({"type": "mouse_move", "t": -5, "session": "s", "x": 1})
    elements[7] = msgspec.msgpack.encode({"type": "teleport", "t": 1, "session": "s"})
    body = msgspec.msgpack.encode([msgspec.Raw(e) for e in elements])
    batch = decode(zstd(body))
    assert batch.events == [e for i, e in enumerate(events) if i not in (3, 7)]
    reasons = {row.index: row.reason for row in batch.bad_rows}
    assert set(reasons) == {3, 7}
    assert "$.t" in reasons[3] and ">= 0" in reasons[3]
    assert "teleport" in reasons[7]
    assert batch.bad_rows[0].raw == elements[3]  # kept with its content, never silently lost


def test_future_events_duplicate_seqs_and_oversized_events_are_bad_rows() -> None:
    now = time.time_ns()
    future = MouseMove(t=now + 3600 * 10**9, session="s", seq=1, x=0, y=0)
    ok = MouseMove(t=now, session="s", seq=2, x=0, y=0)
    twin = MouseMove(t=now, session="s", seq=2, x=5, y=5)
    huge = {"type": "window_focus", "t": now, "session": "s", "seq": 3, "app": "x" * 2000}
    body = msgspec.msgpack.encode([future, ok, twin, huge])
    batch = decode(zstd(body))
    assert batch.events == [ok]
    reasons = [row.reason for row in batch.bad_rows]
    assert "clock skew" in reasons[0]
    assert "seq 2 appears earlier" in reasons[1]
    assert "more than the limit of 512" in reasons[2]


def test_whole_batch_refusals_name_the_problem() -> None:
    raw = encode_batch(sample_events(5))
    assert "zstd" in refused(zstd(raw)[:-4], 400)  # truncated frame
    assert "zstd" in refused(zstd(raw) + b"junk", 400)  # trailing garbage
    assert "gzip" in refused(gzip.compress(raw)[:-6], 400, encoding="gzip")
    assert "Content-Encoding" in refused(zstd(raw), 415, encoding="br")
    assert "Content-Type" in refused(zstd(raw), 415, content_type="application/json")
    assert "msgpack" in refused(zstd(b"\xc1\x00"), 400)
    assert "array" in refused(zstd(msgspec.msgpack.encode("hello")), 400)
    assert "batch id" in refused(zstd(raw), 422, batch_id=None)
    assert "batch id" in refused(zstd(raw), 422, batch_id="../etc/passwd")
    assert "empty" in refused(b"", 400, encoding=None)


def test_bombs_and_oversized_batches_are_413_without_inflating_them() -> None:
    bomb = zstd(b"\x00" * (64 << 20))
    assert len(bomb) < 10_000
    assert "uncompressed" in refused(bomb, 413)
    gzip_bomb = zlib.compress(b"\x00" * (32 << 20), wbits=31)
    assert "uncompressed" in refused(gzip_bomb, 413, encoding="gzip")
    many = zstd(encode_batch(sample_events(1001)))
    assert "1001 events" in refused(many, 413)


def test_a_session_start_of_another_device_refuses_the_batch() -> None:
    events = sample_events(5, device="e" * 32)
    message = refused(zstd(encode_batch(events)), 422)
    assert "not the device" in message
    assert isinstance(
        decode(zstd(encode_batch(sample_events(5, device=DEVICE)))).events[0], SessionStart
    )


def test_the_map_form_carries_the_batch_id_in_the_body() -> None:
    events = sample_events(3)
    body = msgspec.msgpack.encode({"batch_id": "abc", "events": events})
    assert decode(zstd(body), batch_id=None).batch_id == "abc"
    assert "differ" in refused(zstd(body), 422, batch_id="xyz")
    assert "unknown field" in refused(zstd(msgspec.msgpack.encode({"events": [], "x": 1})), 422)


def arrow_stream(table: pa.Table, compression: str | None = None) -> bytes:
    sink = pa.BufferOutputStream()
    options = pa.ipc.IpcWriteOptions(compression=compression)
    with pa.ipc.new_stream(sink, table.schema, options=options) as writer:
        writer.write_table(table)
    return bytes(sink.getvalue())


def test_arrow_ipc_batches_are_validated_row_by_row() -> None:
    events = sample_events(20)
    table = events_to_table(events)
    assert decode(zstd(arrow_stream(table)), content_type=ARROW_CONTENT_TYPE).events == events
    bad = table.set_column(
        table.schema.get_field_index("x"),
        table.schema.field("x"),
        pa.array([None, *table.column("x").to_pylist()[1:]], type=pa.int32()),
    )
    batch = decode(zstd(arrow_stream(bad)), content_type=ARROW_CONTENT_TYPE)
    assert batch.events == events[1:]
    assert [row.index for row in batch.bad_rows] == [0] and "`x`" in batch.bad_rows[0].reason


def test_arrow_ipc_refuses_inner_compression_and_foreign_tables() -> None:
    table = events_to_table(sample_events(20))
    inner = arrow_stream(table, "zstd")
    assert "Content-Encoding" in refused(zstd(inner), 422, content_type=ARROW_CONTENT_TYPE)
    foreign = arrow_stream(pa.table({"type": ["mouse_move"], "password": ["x"]}))
    assert "unknown columns" in refused(zstd(foreign), 422, content_type=ARROW_CONTENT_TYPE)
    assert "Arrow" in refused(zstd(b"not arrow at all"), 400, content_type=ARROW_CONTENT_TYPE)
