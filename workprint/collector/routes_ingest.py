"""Devices write: ``POST /v1/batches`` (events) and ``POST /v1/consent`` (the consent record).

Ingest is at-least-once on the wire and exactly-once in the store: the client's batch id never
changes across retries and the store deduplicates by batch id and by (device, seq). A 200 means
the batch is durable (the store fsyncs before it returns); only then may the device forget it.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Final, Protocol, runtime_checkable

import msgspec
from anyio import CapacityLimiter, to_thread
from fastapi import APIRouter, Depends, Header, Request, Response
from starlette.concurrency import run_in_threadpool

from workprint.collector.auth import Subject, SubjectDevice, get_store
from workprint.collector.errors import ApiError, error_responses
from workprint.collector.ingest import DecodedBatch, decode_upload
from workprint.collector.models import BatchResultModel, ConsentResultModel, ConsentUploadModel
from workprint.collector.settings import CollectorSettings
from workprint.events.columnar import events_to_table
from workprint.spool.wire import (
    ARROW_CONTENT_TYPE,
    BATCH_CONTENT_TYPE,
    BATCH_ID_HEADER,
    BatchResult,
    RejectedEvent,
)
from workprint.store.interface import BadRow, ConsentRecord, IngestResult, Principal, Store

if TYPE_CHECKING:
    import pyarrow as pa

router = APIRouter(prefix="/v1")
StoreDep = Annotated[Store, Depends(get_store)]
_json: Final = msgspec.json.Encoder()
_BODY_SCHEMA: Final = {"schema": {"type": "string", "format": "binary"}}


@dataclass
class IngestGate:
    """Bounds the batches in flight, per process and per device: beyond them, 429."""

    settings: CollectorSettings
    inflight: int = 0
    per_device: Counter[str] = field(default_factory=Counter)
    device_names: dict[str, frozenset[str]] = field(default_factory=dict)
    workers: CapacityLimiter = field(init=False)

    def __post_init__(self) -> None:
        # Decoding, converting and sealing are CPU under the GIL; the wait for the disk is not
        # in these threads (the store's group commit resolves a future). More threads than
        # this only contend for the GIL: every hand-over costs a context switch.
        self.workers = CapacityLimiter(self.settings.ingest_threads)

    def enter(self, device: str) -> None:
        settings = self.settings
        if self.inflight >= settings.max_inflight_batches:
            raise self._busy("the collector is busy")
        if self.per_device[device] >= settings.max_inflight_per_device:
            raise self._busy(f"more than {settings.max_inflight_per_device} batches in flight")
        self.inflight += 1
        self.per_device[device] += 1

    def leave(self, device: str) -> None:
        self.inflight -= 1
        self.per_device[device] -= 1
        if self.per_device[device] <= 0:
            del self.per_device[device]

    def _busy(self, why: str) -> ApiError:
        after = self.settings.retry_after_s
        return ApiError(429, f"{why}; retry after {after} s", {"Retry-After": str(after)})


def _gate(request: Request) -> IngestGate:
    gate: IngestGate = request.app.state.ingest_gate
    return gate


@router.post(
    "/batches",
    summary="Upload a batch of events (device credential of a subject)",
    response_model=BatchResultModel,
    responses=error_responses(400, 401, 403, 413, 415, 422, 429, 503),
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": "A msgpack array of events (docs/events.md), or an Arrow IPC stream in "
            "the event schema; compressed with Content-Encoding zstd or gzip.",
            "content": {BATCH_CONTENT_TYPE: _BODY_SCHEMA, ARROW_CONTENT_TYPE: _BODY_SCHEMA},
        }
    },
)
async def post_batch(
    request: Request,
    principal: SubjectDevice,
    store: StoreDep,
    batch_id: Annotated[
        str | None,
        Header(
            alias=BATCH_ID_HEADER,
            description="Client-generated, unchanged across retries (1–64 of A-Z a-z 0-9 _ -).",
        ),
    ] = None,
    content_encoding: Annotated[str | None, Header(description="zstd, gzip or identity.")] = None,
) -> Response:
    device = principal.device_id
    assert device is not None  # SubjectDevice guarantees it
    gate = _gate(request)
    settings = gate.settings
    gate.enter(device)
    try:
        body = await read_limited(request, settings.max_body_bytes)
        names = await _device_names(gate, store, principal)
        decoded, pending = await to_thread.run_sync(
            _decode_and_submit,
            store,
            principal,
            body,
            request.headers.get("content-type"),
            content_encoding,
            batch_id,
            names,
            settings,
            limiter=gate.workers,
        )
        stored: IngestResult | None = None
        if pending is not None:  # durable once the store's group commit resolves it
            stored = await asyncio.wrap_future(pending)
        if stored is None:
            result = BatchResult(batch_id=decoded.batch_id, accepted=0, duplicates=0, rejected=0)
        else:
            bad = [] if stored.replayed else decoded.bad_rows  # a replay wrote nothing
            limit = settings.max_bad_rows_reported
            result = BatchResult(
                batch_id=stored.batch_id,
                accepted=stored.accepted,
                duplicates=stored.duplicates,
                rejected=stored.rejected,
                rejected_consent=stored.rejected_consent,
                replayed=stored.replayed,
                bad_rows=[RejectedEvent(index=b.index, reason=b.reason) for b in bad[:limit]],
                bad_rows_truncated=len(bad) > limit,
            )
    finally:
        gate.leave(device)
    return Response(_json.encode(result), media_type="application/json")


@runtime_checkable
class _Deferring(Protocol):
    """A store that can queue a batch for its next group commit instead of waiting for it
    (``EmbeddedStore.ingest_nowait``)."""

    def ingest_nowait(
        self,
        principal: Principal,
        batch_id: str,
        events: pa.Table,
        bad_rows: Sequence[BadRow] = (),
        *,
        validated: bool = False,
    ) -> Future[IngestResult]: ...


def _decode_and_submit(
    store: Store,
    principal: Principal,
    body: bytes,
    content_type: str | None,
    content_encoding: str | None,
    batch_id: str | None,
    names: frozenset[str],
    settings: CollectorSettings,
) -> tuple[DecodedBatch, Future[IngestResult] | None]:
    """The CPU part of an upload, in a worker thread: decode, convert, validate and seal. The
    wait for the disk happens on the event loop (the future), not in this thread, so the few
    worker threads keep doing CPU work while earlier batches are being made durable."""
    decoded = decode_upload(
        body,
        content_type=content_type,
        content_encoding=content_encoding,
        header_batch_id=batch_id,
        device_names=names,
        settings=settings,
        now_ns=time.time_ns(),
    )
    if decoded.total == 0:
        return decoded, None
    table = events_to_table(decoded.events)  # msgspec validated every one of them
    batch, bad = decoded.batch_id, decoded.bad_rows
    if isinstance(store, _Deferring):
        return decoded, store.ingest_nowait(principal, batch, table, bad, validated=True)
    done: Future[IngestResult] = Future()
    done.set_result(store.ingest(principal, batch, table, bad, validated=True))
    return decoded, done


async def _device_names(gate: IngestGate, store: Store, principal: Principal) -> frozenset[str]:
    """What this device may call itself in session_start: its server id or its enrolled name."""
    device = principal.device_id
    assert device is not None
    names = gate.device_names.get(device)
    if names is None:
        devices = await run_in_threadpool(store.list_devices, principal.person_id)
        names = frozenset({device, *(d.name for d in devices if d.id == device)})
        gate.device_names[device] = names
    return names


async def read_limited(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it exceeds ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise ApiError(413, f"the body is {declared} bytes, more than the limit of {limit}")
    chunks = bytearray()
    async for chunk in request.stream():
        chunks += chunk
        if len(chunks) > limit:
            raise ApiError(413, f"the body is more than the limit of {limit} bytes")
    return bytes(chunks)


@router.post(
    "/consent",
    summary="Send the subject's consent history (idempotent)",
    response_model=ConsentResultModel,
    responses=error_responses(401, 403, 413, 422, 503),
)
def post_consent(
    upload: ConsentUploadModel, principal: Subject, store: StoreDep
) -> ConsentResultModel:
    """Records the entries the server does not have yet, in time order. The server enforces
    consent again at ingest: events of a scope not granted at their time are not stored."""
    person = principal.person_id
    known = {
        (r.t, r.action, tuple(r.scopes), r.policy_version) for r in store.consent_history(person)
    }
    fresh: dict[tuple[int, str, tuple[str, ...], int], ConsentRecord] = {}
    for entry in sorted(upload.history, key=lambda e: e.t):
        key = (entry.t, entry.action, tuple(entry.scopes), entry.policy_version)
        if key not in known and key not in fresh:
            fresh[key] = ConsentRecord(
                t=entry.t,
                action=entry.action,
                scopes=tuple(entry.scopes),
                policy_version=entry.policy_version,
            )
    for record in fresh.values():
        store.record_consent(person, record)
    return ConsentResultModel(recorded=len(fresh), known=len(upload.history) - len(fresh))
