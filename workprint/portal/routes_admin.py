"""Admin pages: people, roles and devices, enrollment codes, sign-in accounts, device credential
and session revocation. Nothing here reads event content: an admin operates, never watches."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import Response

from workprint.portal.accounts import AccountError
from workprint.portal.pages import PortalRefusal, redirect, render
from workprint.portal.security import AdminViewer, csrf_form, portal_of, text_field
from workprint.store.interface import ROLES, NotFoundError, Person

router = APIRouter(prefix="/portal/admin", include_in_schema=False)


def _person(request: Request, person_id: str) -> Person:
    person = portal_of(request).store.get_person(person_id)
    if person is None or person.erased_ns is not None:
        raise PortalRefusal(404, "No such person.")
    return person


@router.get("/people")
def people_page(request: Request, viewer: AdminViewer) -> Response:
    portal = portal_of(request)
    accounts = {a.person_id: a for a in portal.logins.accounts()}
    devices = portal.store.list_devices()
    people = [
        {
            "person": p,
            "login": accounts[p.id].login if p.id in accounts else "",
            "devices": sum(1 for d in devices if d.person_id == p.id and d.revoked_ns is None),
        }
        for p in portal.store.list_people()
        if p.erased_ns is None
    ]
    return render(request, "admin_people.html", viewer, people=people, roles=ROLES, error="")


@router.post("/people")
async def add_person(request: Request, viewer: AdminViewer) -> Response:
    form = await csrf_form(request, viewer)
    name, role = text_field(form, "name", max_chars=120).strip(), text_field(form, "role")
    if not name or role not in ROLES:
        raise PortalRefusal(400, "A person needs a name and one of the roles.")
    person = portal_of(request).store.add_person(name, role, actor=viewer.person.id)  # type: ignore[call-arg]
    return redirect(f"/portal/admin/people/{person.id}")


@router.get("/people/{person_id}")
def person_page(person_id: str, request: Request, viewer: AdminViewer) -> Response:
    portal = portal_of(request)
    person = _person(request, person_id)
    return render(
        request,
        "admin_person.html",
        viewer,
        person=person,
        account=portal.logins.account(person_id),
        devices=portal.store.list_devices(person_id),
        code="",
        error=request.query_params.get("error", ""),
        revoked=request.query_params.get("revoked", "")[:6],
    )


@router.post("/people/{person_id}/code")
async def enrollment_code(person_id: str, request: Request, viewer: AdminViewer) -> Response:
    await csrf_form(request, viewer)
    _person(request, person_id)
    store = portal_of(request).store
    code = store.create_enrollment_code(person_id, actor=viewer.person.id)  # type: ignore[call-arg]
    portal = portal_of(request)
    return render(
        request,
        "admin_person.html",
        viewer,
        person=_person(request, person_id),
        account=portal.logins.account(person_id),
        devices=store.list_devices(person_id),
        code=code,
        error="",
        revoked="",
    )


@router.post("/people/{person_id}/account")
async def set_account(person_id: str, request: Request, viewer: AdminViewer) -> Response:
    form = await csrf_form(request, viewer)
    _person(request, person_id)
    portal = portal_of(request)
    try:
        portal.logins.set_password(
            person_id, text_field(form, "login"), text_field(form, "password", max_chars=1024)
        )
    except AccountError as exc:
        return redirect(f"/portal/admin/people/{person_id}?error={quote(str(exc))}")
    portal.sessions.end_all(person_id)
    portal.store.audit(viewer.person.id, "portal.account_set", person_id)
    return redirect(f"/portal/admin/people/{person_id}")


@router.post("/people/{person_id}/sessions/revoke")
async def revoke_sessions(person_id: str, request: Request, viewer: AdminViewer) -> Response:
    await csrf_form(request, viewer)
    _person(request, person_id)
    portal = portal_of(request)
    ended = portal.sessions.end_all(person_id)
    portal.store.audit(viewer.person.id, "portal.sessions_revoke", person_id, f"sessions={ended}")
    return redirect(f"/portal/admin/people/{person_id}")


@router.post("/people/{person_id}/tokens/revoke")
async def revoke_tokens(person_id: str, request: Request, viewer: AdminViewer) -> Response:
    """Every personal API token of the person stops working at once (audited by the store)."""
    await csrf_form(request, viewer)
    _person(request, person_id)
    revoked = portal_of(request).store.revoke_api_tokens(person_id, actor=viewer.person.id)
    return redirect(f"/portal/admin/people/{person_id}?revoked={revoked}")


@router.post("/devices/{device_id}/revoke")
async def revoke_device(device_id: str, request: Request, viewer: AdminViewer) -> Response:
    await csrf_form(request, viewer)
    portal = portal_of(request)
    owner = next((d.person_id for d in portal.store.list_devices() if d.id == device_id), None)
    if owner is None:
        raise PortalRefusal(404, "No such device.")
    try:
        portal.store.revoke_device(device_id, actor=viewer.person.id)
    except NotFoundError:
        raise PortalRefusal(404, "No such device.") from None
    return redirect(f"/portal/admin/people/{owner}")
