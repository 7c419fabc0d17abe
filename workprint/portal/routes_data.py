"""The subject's data: the per-day timeline, the drill-down to their own raw events of a day,
the releases that included data derived from them, the full export (DSAR) and erasure. Reads
go through the store as the subject (audited there); export and erasure need a POST with the
CSRF token, erasure also the typed confirmation."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from typing import BinaryIO, Final, cast

import msgspec
from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse
from starlette.background import BackgroundTask

from workprint.events.columnar import table_to_events
from workprint.portal.charts import bar_chart
from workprint.portal.pages import PortalRefusal, render
from workprint.portal.security import SESSION_COOKIE, SubjectViewer, csrf_form, portal_of
from workprint.portal.timeline import day_bounds, summarise
from workprint.store.subject_export import export_subject

router = APIRouter(prefix="/portal/me", include_in_schema=False)
EVENTS_PER_PAGE: Final = 200
CONFIRM_WORD: Final = "delete"
_CHUNK: Final = 1 << 16


@router.get("/data")
def timeline_page(request: Request, viewer: SubjectViewer) -> Response:
    portal = portal_of(request)
    me = viewer.person.id
    days = summarise(portal.store.read_events(me, actor=me))
    chart = bar_chart(
        "Active minutes per day",
        [(d.day[5:], round(d.active_s / 60, 1)) for d in reversed(days[:14])],
        unit=" min",
    )
    return render(
        request,
        "timeline.html",
        viewer,
        days=days,
        chart=chart,
        releases=portal.releases.including(me),
    )


@router.get("/data/{day}")
def day_page(day: str, request: Request, viewer: SubjectViewer, page: int = 0) -> Response:
    try:
        start, end = day_bounds(day)
    except ValueError:
        raise PortalRefusal(404, "No such day: days are written YYYY-MM-DD.") from None
    if not 0 <= page <= 10**6:
        raise PortalRefusal(404, "No such page.")
    portal = portal_of(request)
    me = viewer.person.id
    rows: list[dict[str, object]] = []
    skip = page * EVENTS_PER_PAGE
    more = False
    for table in portal.store.read_events(me, start_ns=start, end_ns=end, actor=me):
        if skip >= table.num_rows:
            skip -= table.num_rows
            continue
        for event in table_to_events(table.slice(skip)):
            if len(rows) == EVENTS_PER_PAGE:
                more = True
                break
            rows.append(_event_row(event))
        skip = 0
        if more:
            break
    return render(request, "day.html", viewer, day=day, rows=rows, page=page, more=more)


def _event_row(event: object) -> dict[str, object]:
    fields = {k: v for k, v in _fields(event) if k not in ("type", "t", "session", "seq")}
    return {
        "type": getattr(event, "type", type(event).__name__),
        "t": getattr(event, "t", 0),
        "seq": getattr(event, "seq", 0),
        "fields": ", ".join(f"{k}={v}" for k, v in fields.items() if v not in (None, "", ())),
    }


def _fields(event: object) -> list[tuple[str, object]]:
    data = msgspec.to_builtins(event)
    return list(data.items()) if isinstance(data, dict) else []


@router.get("/export")
def export_page(request: Request, viewer: SubjectViewer) -> Response:
    return render(request, "export.html", viewer)


@router.post("/export")
async def export(request: Request, viewer: SubjectViewer) -> Response:
    await csrf_form(request, viewer)
    portal = portal_of(request)
    me = viewer.person.id
    spool = tempfile.SpooledTemporaryFile(max_size=8 * 2**20)  # noqa: SIM115 - closed after send
    try:
        export_subject(portal.store, me, cast(BinaryIO, spool), actor=me)
        spool.seek(0)
    except BaseException:
        spool.close()
        raise

    def chunks() -> Iterator[bytes]:
        while chunk := spool.read(_CHUNK):
            yield chunk

    return StreamingResponse(
        chunks(),
        media_type="application/zip",
        headers={
            "Content-Disposition": 'attachment; filename="workprint-export.zip"',
            "Cache-Control": "no-store",
        },
        background=BackgroundTask(spool.close),
    )


@router.get("/delete")
def delete_page(request: Request, viewer: SubjectViewer) -> Response:
    return render(request, "delete.html", viewer, confirm_word=CONFIRM_WORD, error="")


@router.post("/delete")
async def delete(request: Request, viewer: SubjectViewer) -> Response:
    form = await csrf_form(request, viewer)
    if str(form.get("confirm", "")).strip().lower() != CONFIRM_WORD:
        message = f"Type {CONFIRM_WORD} in the box to confirm: nothing was deleted."
        return render(
            request, "delete.html", viewer, status=422, confirm_word=CONFIRM_WORD, error=message
        )
    portal = portal_of(request)
    portal.forget(viewer.person.id, actor=viewer.person.id)
    response = render(request, "deleted.html", None)
    response.delete_cookie(SESSION_COOKIE, path="/portal")
    return response
