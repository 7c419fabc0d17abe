"""The upload wire format the uploader speaks and the collector accepts (docs/collector.md).

It lives with the uploader because the collector comes after the spool in the flow and may import
it, never the other way round.
"""

from __future__ import annotations

import re
from typing import Final

import msgspec

BATCH_CONTENT_TYPE: Final = "application/vnd.workprint.batch+msgpack"
ARROW_CONTENT_TYPE: Final = "application/vnd.apache.arrow.stream"
BATCH_ID_HEADER: Final = "X-Workprint-Batch-Id"
BATCH_ID_PATTERN: Final = re.compile(r"[A-Za-z0-9_-]{1,64}")


class RejectedEvent(msgspec.Struct, frozen=True, kw_only=True):
    """One event of a batch that was stored as a bad row instead of an event."""

    index: int
    reason: str


class BatchResult(msgspec.Struct, frozen=True, kw_only=True):
    """The collector's answer to one batch: what it stored, what it already had, what it kept
    only as bad rows. ``accepted + duplicates + rejected`` is the number of events sent."""

    batch_id: str
    accepted: int
    duplicates: int
    rejected: int
    rejected_consent: int = 0
    replayed: bool = False
    bad_rows: list[RejectedEvent] = []
    bad_rows_truncated: bool = False
