"""Rendering: Jinja2 templates (autoescaped) into HTML responses with the portal's security
headers, and the refusal pages (403/404) every route raises through ``PortalRefusal``."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from workprint import __version__

if TYPE_CHECKING:
    from workprint.portal.security import Viewer

HERE: Final = Path(__file__).parent
SECURITY_HEADERS: Final = {
    # no script at all: the pages are plain HTML forms; inline SVG needs no source
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",  # no-referrer would make Origin "null" on our own forms
    "Cache-Control": "no-store",
}


class PortalRefusal(Exception):
    """A page the viewer may not see (403) or that does not exist for them (404)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class NeedsSignIn(Exception):
    """No valid session: send the browser to the sign-in page."""


def when(ns: int | None) -> str:
    """Nanoseconds since the epoch as a readable UTC time."""
    if ns is None:
        return "—"
    moment = dt.datetime.fromtimestamp(ns / 1e9, tz=dt.UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def duration(seconds: float) -> str:
    """``2 h 05 min``, ``12 min``, ``40 s`` — a short recording is not "0 min"."""
    minutes = int(seconds // 60)
    if minutes >= 60:
        return f"{minutes // 60} h {minutes % 60:02d} min"
    return f"{minutes} min" if minutes else f"{int(seconds)} s"


ENV: Final = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(["html"], default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
ENV.filters["when"] = when
ENV.filters["duration"] = duration
ENV.globals["version"] = __version__


def render(
    request: Request,
    template: str,
    viewer: Viewer | None,
    *,
    status: int = 200,
    **context: Any,
) -> HTMLResponse:
    page = ENV.get_template(template).render(
        request=request, viewer=viewer, path=request.url.path, **context
    )
    return HTMLResponse(page, status_code=status, headers=SECURITY_HEADERS)


def redirect(url: str) -> Response:
    """After a POST: 303 so the browser follows with a GET (no resubmission on reload)."""
    return RedirectResponse(url, status_code=303, headers=SECURITY_HEADERS)
