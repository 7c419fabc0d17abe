"""The subject's consent and live pages: what each scope means, grant/revoke per scope (recorded
on the server, pulled by the recorder within seconds), the consent history, and the live state
of their recorders with pause/resume. Every path is the viewer's own: no person id in any URL."""

from __future__ import annotations

import time
from typing import Final, Literal

from fastapi import APIRouter, Request
from fastapi.responses import Response

from workprint.events import SCOPES
from workprint.policy.consent import SCOPE_DESCRIPTIONS, SCOPE_REQUIRES, effective_scopes
from workprint.portal.pages import PortalRefusal, redirect, render
from workprint.portal.security import SubjectViewer, csrf_form, portal_of, text_field
from workprint.store.interface import ConsentRecord

router = APIRouter(prefix="/portal/me", include_in_schema=False)
SCOPE_TITLES: Final = {
    "input-timing": "Typing rhythm",
    "text-content": "What you type",
    "mouse": "Mouse",
    "app-usage": "Applications",
    "window-titles": "Window titles",
    "browsing": "Browsing",
}


def granted_now(history: list[ConsentRecord]) -> set[str]:
    granted: set[str] = set()
    for record in sorted(history, key=lambda r: r.t):
        if record.action == "grant":
            granted.update(record.scopes)
        else:
            granted.difference_update(record.scopes)
    return granted


@router.get("")
def consent_page(request: Request, viewer: SubjectViewer) -> Response:
    portal = portal_of(request)
    history = portal.store.consent_history(viewer.person.id)
    granted = granted_now(history)
    effective = effective_scopes(granted)
    scopes = [
        {
            "name": scope,
            "title": SCOPE_TITLES.get(scope, scope),
            "description": SCOPE_DESCRIPTIONS.get(scope, ""),
            "granted": scope in granted,
            "inactive": scope in granted and scope not in effective,
            "requires": SCOPE_REQUIRES.get(scope),
        }
        for scope in SCOPES
    ]
    return render(
        request,
        "consent.html",
        viewer,
        scopes=scopes,
        history=list(reversed(history)),
        policy=portal.policies.current(),
        saved=request.query_params.get("saved", ""),
    )


@router.post("/consent")
async def change_consent(request: Request, viewer: SubjectViewer) -> Response:
    form = await csrf_form(request, viewer)
    scope, action = text_field(form, "scope"), text_field(form, "action")
    if scope not in SCOPES:
        raise PortalRefusal(400, f"There is no scope called {scope[:40]!r}.")
    if action != "grant" and action != "revoke":
        raise PortalRefusal(400, "The action is grant or revoke.")
    portal = portal_of(request)
    version = portal.policies.current().version
    verb: Literal["grant", "revoke"] = "grant" if action == "grant" else "revoke"
    record = ConsentRecord(t=time.time_ns(), action=verb, scopes=(scope,), policy_version=version)
    portal.store.record_consent(viewer.person.id, record)
    return redirect(f"/portal/me?saved={action}-{scope}")


@router.get("/live")
def live_page(request: Request, viewer: SubjectViewer, refresh: str = "") -> Response:
    portal = portal_of(request)
    statuses = portal.devices.statuses(viewer.person.id)
    devices = [
        {"device": d, "status": statuses.get(d.id)}
        for d in portal.store.list_devices(viewer.person.id)
    ]
    return render(
        request,
        "live.html",
        viewer,
        devices=devices,
        pause=portal.devices.pause_request(viewer.person.id),
        now_ns=time.time_ns(),
        auto=refresh == "on",
    )


@router.post("/pause")
async def pause(request: Request, viewer: SubjectViewer) -> Response:
    form = await csrf_form(request, viewer)
    wanted = text_field(form, "paused")
    if wanted not in ("true", "false"):
        raise PortalRefusal(400, "paused is true or false.")
    portal = portal_of(request)
    portal.devices.request_pause(viewer.person.id, wanted == "true")
    action = "portal.pause" if wanted == "true" else "portal.resume"
    portal.store.audit(viewer.person.id, action, viewer.person.id)
    return redirect("/portal/me/live")


@router.post("/devices/{device_id}/revoke")
async def revoke_own_device(device_id: str, request: Request, viewer: SubjectViewer) -> Response:
    await csrf_form(request, viewer)
    portal = portal_of(request)
    mine = {d.id for d in portal.store.list_devices(viewer.person.id)}
    if device_id not in mine:  # someone else's or no such device: the same answer
        raise PortalRefusal(404, "You have no such device.")
    portal.store.revoke_device(device_id, actor=viewer.person.id)
    return redirect("/portal/me/live")
