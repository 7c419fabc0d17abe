"""A person's own data: who they are, every event stored about them, a full export (DSAR), and
erasure. Every path here is keyed by the caller's own person id; there is no parameter naming
someone else, so no request can reach another person's data (DESIGN.md principle 4)."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from typing import IO, Annotated, BinaryIO, Final, cast

import msgspec
import pyarrow as pa
from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse
from starlette.background import BackgroundTask

from workprint.collector.auth import Caller, Subject, get_store
from workprint.collector.errors import ApiError, error_responses
from workprint.collector.models import DeviceModel, ErasureReceiptModel, MeModel, PersonModel
from workprint.events import encode_jsonl
from workprint.events.columnar import table_to_events
from workprint.store.interface import Store
from workprint.store.subject_export import export_subject

router = APIRouter(prefix="/v1/me")
StoreDep = Annotated[Store, Depends(get_store)]
Nanos = Annotated[int | None, Query(ge=0, le=2**63 - 1)]
JSONL: Final = "application/x-ndjson"
_CHUNK: Final = 1 << 16


def person_model(store: Store, person_id: str) -> PersonModel:
    person = store.get_person(person_id)
    if person is None:
        raise ApiError(404, "no such person")
    devices = [DeviceModel(**msgspec.structs.asdict(d)) for d in store.list_devices(person_id)]
    return PersonModel(**msgspec.structs.asdict(person), devices=devices)


@router.get("", response_model=MeModel, responses=error_responses(401, 503))
def get_me(principal: Caller, store: StoreDep) -> MeModel:
    """The caller: person, role and devices (any role)."""
    return MeModel(person=person_model(store, principal.person_id), device_id=principal.device_id)


@router.get(
    "/events",
    summary="Every event stored about the caller, as JSON Lines (subject only)",
    responses={
        200: {"content": {JSONL: {"schema": {"type": "string"}}}, "description": "JSON Lines"},
        **error_responses(401, 403, 422, 503),
    },
)
def get_my_events(
    principal: Subject,
    store: StoreDep,
    start_ns: Nanos = None,
    end_ns: Nanos = None,
) -> StreamingResponse:
    """In (t, seq) order, one event per line in the interchange form of docs/events.md."""
    if start_ns is not None and end_ns is not None and end_ns < start_ns:
        raise ApiError(422, "end_ns is before start_ns")
    tables = store.read_events(
        principal.person_id, start_ns=start_ns, end_ns=end_ns, actor=principal.person_id
    )
    first = next(tables, None)  # a storage failure is still a 503 here, not a cut stream
    return StreamingResponse(_jsonl(first, tables), media_type=JSONL)


def _jsonl(first: pa.Table | None, rest: Iterator[pa.Table]) -> Iterator[bytes]:
    if first is None:
        return
    yield encode_jsonl(table_to_events(first))
    for table in rest:
        yield encode_jsonl(table_to_events(table))


@router.get(
    "/export",
    summary="Everything stored about the caller, as a zip (subject only)",
    responses={
        200: {"content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}}},
        **error_responses(401, 403, 503),
    },
)
def get_my_export(principal: Subject, store: StoreDep) -> StreamingResponse:
    """person.json, consent.json (the server's consent history), events.jsonl, bad_rows.jsonl
    (what was refused, with why) and README.txt — the data subject access request, in the
    store's export format (workprint.store.subject_export, docs/store.md)."""
    person_id = principal.person_id
    spool = tempfile.SpooledTemporaryFile(max_size=8 * 2**20)  # noqa: SIM115 - closed after send
    try:
        export_subject(store, person_id, cast(BinaryIO, spool), actor=person_id)
        spool.seek(0)
    except BaseException:
        spool.close()
        raise
    return StreamingResponse(
        _chunks(spool),
        media_type="application/zip",
        headers={"Content-Disposition": 'attachment; filename="workprint-export.zip"'},
        background=BackgroundTask(spool.close),
    )


def _chunks(handle: IO[bytes]) -> Iterator[bytes]:
    while chunk := handle.read(_CHUNK):
        yield chunk


@router.delete(
    "",
    summary="Erase everything stored about the caller (subject only)",
    response_model=ErasureReceiptModel,
    responses=error_responses(401, 403, 422, 503),
)
def delete_me(
    principal: Subject,
    store: StoreDep,
    confirm: Annotated[bool, Query(description="Must be true: erasure cannot be undone.")],
) -> ErasureReceiptModel:
    """Crypto-shreds the person's data key, deletes their rows and revokes their devices."""
    if not confirm:
        raise ApiError(422, "erasure cannot be undone: repeat with ?confirm=true")
    receipt = store.forget(principal.person_id, actor=principal.person_id)
    return ErasureReceiptModel(**msgspec.structs.asdict(receipt))
