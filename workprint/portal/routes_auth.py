"""Sign-in and sign-out. Sign-in always creates a new session with a new random value (an
existing or planted session cookie is discarded: no session fixation), is rate-limited per
client address, and locks a login after repeated wrong passwords (accounts.py)."""

from __future__ import annotations

import secrets
from typing import Final

from fastapi import APIRouter, Request
from fastapi.responses import Response

from workprint.portal.accounts import LOCKOUT_S, same_secret
from workprint.portal.pages import redirect, render
from workprint.portal.security import (
    LOGIN_COOKIE,
    SESSION_COOKIE,
    AnyViewer,
    Viewer,
    check_origin,
    csrf_form,
    optional_viewer,
    portal_of,
    set_cookie,
)

router = APIRouter(prefix="/portal", include_in_schema=False)
HOME_OF: Final = {
    "subject": "/portal/me",
    "steward": "/portal/steward/policy",
    "researcher": "/portal/releases",
    "admin": "/portal/admin/people",
}


def home_of(viewer: Viewer) -> str:
    return HOME_OF[viewer.role]


@router.get("")
@router.get("/")
def portal_home(request: Request) -> Response:
    viewer = optional_viewer(request)
    return redirect("/portal/login" if viewer is None else home_of(viewer))


def _login_page(request: Request, error: str = "", status: int = 200, login: str = "") -> Response:
    token = secrets.token_urlsafe(24)
    response = render(
        request, "login.html", None, status=status, error=error, login_csrf=token, login=login
    )
    set_cookie(response, request, LOGIN_COOKIE, token, max_age=3600)
    return response


@router.get("/login")
def login_form(request: Request) -> Response:
    viewer = optional_viewer(request)
    if viewer is not None:
        return redirect(home_of(viewer))
    return _login_page(request)


@router.post("/login")
async def login(request: Request) -> Response:
    portal = portal_of(request)
    check_origin(request)
    form = await request.form()
    login_name, password, token = (form.get(k) for k in ("login", "password", "csrf"))
    cookie_token = request.cookies.get(LOGIN_COOKIE, "")
    if not isinstance(token, str) or not same_secret(token, cookie_token):
        return _login_page(request, "The form expired or was not sent from this page.", 403)
    if not isinstance(login_name, str) or not isinstance(password, str):
        return _login_page(request, "Enter your login and password.", 400)
    client = request.client.host if request.client else "unknown"
    if not portal.login_limiter.allow(client):
        return _login_page(request, "Too many sign-in attempts: wait a minute.", 429, login_name)
    outcome = portal.logins.check(login_name, password)
    if outcome.locked:
        minutes = LOCKOUT_S // 60
        message = f"Too many wrong passwords: this login is locked for {minutes} minutes."
        portal.store.audit("portal", "portal.login_locked", login_name.strip().lower()[:64])
        return _login_page(request, message, 429, login_name)
    person = portal.store.get_person(outcome.person_id) if outcome.person_id else None
    if person is None or person.erased_ns is not None:
        return _login_page(request, "Wrong login or password.", 401, login_name)
    portal.sessions.end(request.cookies.get(SESSION_COOKIE))  # never reuse a prior session
    value, _session = portal.sessions.create(person.id)
    portal.store.audit(person.id, "portal.sign_in", person.id)
    response = redirect(HOME_OF[person.role])
    set_cookie(response, request, SESSION_COOKIE, value)
    response.delete_cookie(LOGIN_COOKIE, path="/portal")
    return response


@router.post("/logout")
async def logout(request: Request, viewer: AnyViewer) -> Response:
    await csrf_form(request, viewer)
    portal_of(request).sessions.end(viewer.cookie)
    response = redirect("/portal/login")
    response.delete_cookie(SESSION_COOKIE, path="/portal")
    return response
