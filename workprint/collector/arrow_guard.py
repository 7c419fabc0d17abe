"""Refuse Arrow IPC streams whose buffers are compressed inside the stream.

Arrow would allocate a compressed buffer's declared size before anyone could check it, so a few
kilobytes could claim gigabytes. Compression belongs to Content-Encoding, which the collector
decompresses within its limits. This reads only the small flatbuffer header of each message.
"""

from __future__ import annotations

import struct
from typing import Final

import pyarrow as pa

MAX_MESSAGES: Final = 10_000
_RECORD_BATCH: Final = 3
_DICTIONARY_BATCH: Final = 4


class UnsafeArrow(ValueError):
    """The stream is malformed, compressed inside, or has too many messages."""


def check_stream(raw: bytes) -> None:
    reader = pa.ipc.MessageReader.open_stream(pa.BufferReader(raw))
    for count, message in enumerate(reader, start=1):
        if count > MAX_MESSAGES:
            raise UnsafeArrow(f"more than {MAX_MESSAGES} messages")
        try:
            compressed = _compressed(bytes(message.metadata))
        except (struct.error, IndexError):
            raise UnsafeArrow("a message header is malformed") from None
        if compressed:
            raise UnsafeArrow(
                "buffer compression inside the IPC stream is not accepted; "
                "compress the whole body with Content-Encoding instead"
            )


def _compressed(meta: bytes) -> bool:
    """Does this Message's RecordBatch (directly or in a DictionaryBatch) set ``compression``?"""
    root = _u32(meta, 0)
    type_pos = _field(meta, root, 1)
    header_type = meta[type_pos] if type_pos is not None else 0
    if header_type not in (_RECORD_BATCH, _DICTIONARY_BATCH):
        return False
    header = _table(meta, _field(meta, root, 2))
    if header is not None and header_type == _DICTIONARY_BATCH:
        header = _table(meta, _field(meta, header, 1))
    return header is not None and _field(meta, header, 3) is not None


def _table(buf: bytes, pos: int | None) -> int | None:
    return None if pos is None else pos + _u32(buf, pos)


def _field(buf: bytes, table: int, index: int) -> int | None:
    """Absolute position of field ``index`` of the flatbuffer table at ``table``, if present."""
    vtable = table - struct.unpack_from("<i", buf, table)[0]
    if vtable < 0:
        raise IndexError("vtable before the buffer")
    (vtable_size,) = struct.unpack_from("<H", buf, vtable)
    slot = 4 + 2 * index
    if slot + 2 > vtable_size:
        return None
    (offset,) = struct.unpack_from("<H", buf, vtable + slot)
    return table + offset if offset else None


def _u32(buf: bytes, pos: int) -> int:
    value: int = struct.unpack_from("<I", buf, pos)[0]
    return value
