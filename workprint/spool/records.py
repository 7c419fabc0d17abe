"""What the spool hands back: plain, immutable records (no database handles inside)."""

from __future__ import annotations

import msgspec

from workprint.events import Event


class BatchInfo(msgspec.Struct, frozen=True):
    """What ``append`` stored: ``raw_bytes`` of msgpack became ``n_bytes`` of sealed payload."""

    batch_id: str
    first_seq: int
    last_seq: int
    n_events: int
    n_bytes: int
    raw_bytes: int
    created_ns: int


class SpooledBatch(msgspec.Struct, frozen=True):
    """A pending batch, decrypted, as the uploader sends it (``batch_id`` never changes)."""

    batch_id: str
    first_seq: int
    last_seq: int
    n_events: int
    created_ns: int
    events: list[Event]


class SpoolStats(msgspec.Struct, frozen=True):
    """The queue's state. ``dropped_*`` count what the byte and age bounds removed without an
    acknowledgement (pending or quarantined batches); ``file_bytes`` is db + WAL + shm."""

    batches: int
    events: int
    payload_bytes: int
    file_bytes: int
    dropped_events: int
    dropped_batches: int
    quarantined: int
    oldest_created_ns: int | None
    next_seq: int
