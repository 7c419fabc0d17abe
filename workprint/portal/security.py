"""Who is looking at the page and may they: the session cookie → ``Viewer``, role guards, and
the CSRF check every state-changing form goes through.

- The session cookie is HttpOnly, SameSite=Lax, path /portal, Secure when the request came over
  TLS; its value is random and only its hash is stored (accounts.Sessions).
- Every POST carries the session's CSRF token in a hidden field (sign-in: a double-submit cookie,
  since there is no session yet); a cross-site Origin is refused as well.
- A role guard answers 403 for the wrong role; id-bearing URLs answer 404 for what is not the
  viewer's, the same as for what does not exist (no probing of other people's ids).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Final

from fastapi import Depends, Request
from starlette.datastructures import FormData
from starlette.responses import Response

from workprint.portal.accounts import Session, same_secret
from workprint.portal.pages import NeedsSignIn, PortalRefusal
from workprint.portal.state import PortalState
from workprint.store.interface import Person, Role

SESSION_COOKIE: Final = "wp_session"
LOGIN_COOKIE: Final = "wp_login_csrf"
COOKIE_PATH: Final = "/portal"


@dataclass(frozen=True)
class Viewer:
    person: Person
    session: Session
    cookie: str

    @property
    def role(self) -> Role:
        return self.person.role

    @property
    def csrf(self) -> str:
        return self.session.csrf


def portal_of(request: Request) -> PortalState:
    state: PortalState = request.app.state.portal
    return state


def is_tls(request: Request) -> bool:
    return request.url.scheme == "https"


def set_cookie(
    response: Response, request: Request, name: str, value: str, max_age: int | None = None
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=COOKIE_PATH,
        httponly=True,
        secure=is_tls(request),
        samesite="lax",
    )


def optional_viewer(request: Request) -> Viewer | None:
    portal = portal_of(request)
    cookie = request.cookies.get(SESSION_COOKIE)
    session = portal.sessions.get(cookie)
    if session is None or cookie is None:
        return None
    person = portal.store.get_person(session.person_id)
    if person is None or person.erased_ns is not None:
        portal.sessions.end(cookie)
        return None
    return Viewer(person, session, cookie)


def signed_in(request: Request) -> Viewer:
    viewer = optional_viewer(request)
    if viewer is None:
        raise NeedsSignIn
    return viewer


def role_guard(*roles: Role) -> Callable[[Request], Viewer]:
    def guard(request: Request) -> Viewer:
        viewer = signed_in(request)
        if viewer.role not in roles:
            raise PortalRefusal(403, f"This page is for the role {' or '.join(roles)}.")
        return viewer

    return guard


AnyViewer = Annotated[Viewer, Depends(signed_in)]
SubjectViewer = Annotated[Viewer, Depends(role_guard("subject"))]
StewardViewer = Annotated[Viewer, Depends(role_guard("steward"))]
ResearcherViewer = Annotated[Viewer, Depends(role_guard("researcher", "steward"))]
AdminViewer = Annotated[Viewer, Depends(role_guard("admin"))]


def check_origin(request: Request) -> None:
    """A browser sends Origin on a cross-site POST; it must be this site."""
    origin = request.headers.get("origin")
    if origin and origin != "null":
        own = f"{request.url.scheme}://{request.url.netloc}"
        if origin != own:
            raise PortalRefusal(403, "This form was sent from another site: refused.")
    elif origin == "null":
        raise PortalRefusal(403, "This form was sent from an opaque origin: refused.")


async def csrf_form(request: Request, viewer: Viewer) -> FormData:
    """The posted form, after checking its CSRF token against the viewer's session."""
    check_origin(request)
    form = await request.form()
    token = form.get("csrf")
    if not isinstance(token, str) or not same_secret(token, viewer.csrf):
        raise PortalRefusal(403, "The form's security token is missing or wrong: reload the page.")
    return form


def text_field(form: FormData, name: str, *, max_chars: int = 256) -> str:
    value = form.get(name)
    if not isinstance(value, str):
        raise PortalRefusal(400, f"The form lacks the field {name!r}.")
    if len(value) > max_chars:
        raise PortalRefusal(400, f"The field {name!r} is longer than {max_chars} characters.")
    return value
