"""The consent and transparency portal (docs/portal.md): server-rendered pages under /portal,
served by the collector, for subjects (consent, live state, their data, export, erasure),
stewards (policy, consent statistics, releases, audit), researchers (approved releases) and
admins (people, devices, codes, revocation). No script: plain HTML forms and inline SVG."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles

from workprint.portal.pages import HERE, NeedsSignIn, PortalRefusal, redirect, render
from workprint.portal.state import PortalState, portal_state_for
from workprint.store.interface import Store


def install(app: FastAPI, store: Store) -> PortalState:
    """Mount the portal's pages and files on the collector's app."""
    from workprint.portal import (
        routes_admin,
        routes_auth,
        routes_data,
        routes_research,
        routes_steward,
        routes_subject,
    )

    state = portal_state_for(store)
    app.state.portal = state
    for module in (
        routes_auth,
        routes_subject,
        routes_data,
        routes_steward,
        routes_admin,
        routes_research,
    ):
        app.include_router(module.router)
    app.mount("/portal/static", StaticFiles(directory=HERE / "static"), name="portal-static")

    async def refused(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, PortalRefusal)
        from workprint.portal.security import optional_viewer

        viewer = optional_viewer(request)
        return render(
            request, "refused.html", viewer, status=exc.status, code=exc.status, message=exc.message
        )

    async def sign_in(request: Request, exc: Exception) -> Response:
        return redirect("/portal/login")

    app.add_exception_handler(PortalRefusal, refused)
    app.add_exception_handler(NeedsSignIn, sign_in)
    return state


__all__ = ["PortalState", "install"]
