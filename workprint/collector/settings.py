"""The collector's limits. Every one of them is a clear 413/422/429 to a client that exceeds it,
never a crash: they bound the memory and time one request can take (docs/collector.md)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class CollectorSettings:
    max_body_bytes: int = 16 * 2**20  # a request body as sent (compressed)
    max_batch_bytes: int = 64 * 2**20  # a batch after decompression
    max_batch_events: int = 50_000
    max_event_bytes: int = 64 * 2**10  # one encoded event; larger ones become bad rows
    max_clock_skew_s: float = 300.0  # events further in the future become bad rows
    max_bad_rows_reported: int = 100  # per response; all of them are stored
    max_inflight_batches: int = 64  # per process; beyond it 429 with Retry-After
    max_inflight_per_device: int = 4
    ingest_threads: int = 1  # batches decoded and sealed at once (CPU under the GIL: more contend)
    max_json_bytes: int = 1 * 2**20  # JSON request bodies (enroll, consent)
    max_consent_entries: int = 10_000
    retry_after_s: int = 1  # what 429 asks a client to wait
    unavailable_retry_after_s: int = 5  # what 503 (storage unavailable) asks a client to wait
