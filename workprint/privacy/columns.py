"""The batch API over Arrow string columns (where volume lives); kept apart from ``redact`` so
that scanning single texts (the CLI, the recorder side) never loads Arrow."""

from __future__ import annotations

from typing import Any, Final

import pyarrow as pa

from workprint.privacy.redact import SurrogateFn, scan_and_redact
from workprint.privacy.scanner import scan_text

SPAN_TYPE: Final = pa.list_(
    pa.struct([("start", pa.int32()), ("end", pa.int32()), ("type", pa.string())])
)


def _values(column: pa.Array | pa.ChunkedArray) -> list[Any]:
    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        raise TypeError(f"expected a string column, got {column.type}")
    return column.to_pylist()  # type: ignore[no-any-return]


def redact_column(
    column: pa.Array | pa.ChunkedArray, surrogate: SurrogateFn | None = None
) -> pa.Array:
    """A string (or large_string) column with each value redacted; nulls stay null."""
    out = [None if v is None else scan_and_redact(v, surrogate)[0] for v in _values(column)]
    return pa.array(out, type=column.type)


def scan_column(column: pa.Array | pa.ChunkedArray) -> pa.Array:
    """The spans of each value as ``list<struct<start, end, type>>``; null for null values."""
    rows: list[list[dict[str, object]] | None] = []
    for value in _values(column):
        if value is None:
            rows.append(None)
            continue
        rows.append(
            [{"start": s.start, "end": s.end, "type": s.type.value} for s in scan_text(value)]
        )
    return pa.array(rows, type=SPAN_TYPE)
