"""The researcher's catalog: approved releases with their dataset cards and files — and nothing
else (no person, no raw event, no audit entry is reachable from here). Stewards see it too.
Every file is verified against the release's manifest before it is sent."""

from __future__ import annotations

import mimetypes
from typing import Final

from fastapi import APIRouter, Request
from fastapi.responses import Response

from workprint.portal.pages import SECURITY_HEADERS, PortalRefusal, render
from workprint.portal.releases import CARD_NAME, ReleaseError
from workprint.portal.security import ResearcherViewer, portal_of

router = APIRouter(prefix="/portal/releases", include_in_schema=False)
MAX_CARD_BYTES: Final = 256 * 1024


@router.get("")
def catalog(request: Request, viewer: ResearcherViewer) -> Response:
    approved = [r for r in portal_of(request).releases.listed("researcher")]
    return render(request, "catalog.html", viewer, releases=approved)


@router.get("/{release_id}")
def release_page(release_id: str, request: Request, viewer: ResearcherViewer) -> Response:
    releases = portal_of(request).releases
    release = releases.get(release_id, "researcher")  # approved only, whoever asks here
    if release is None:
        raise PortalRefusal(404, "No such approved release.")
    try:
        card = releases.file(release_id, CARD_NAME, "researcher")[:MAX_CARD_BYTES]
    except ReleaseError as exc:
        card = f"(the dataset card cannot be shown: {exc})".encode()
    return render(
        request,
        "release.html",
        viewer,
        release=release,
        card=card.decode("utf-8", "replace"),
        files=releases.files(release_id, "researcher"),
    )


@router.get("/{release_id}/files/{name:path}")
def download(release_id: str, name: str, request: Request, viewer: ResearcherViewer) -> Response:
    releases = portal_of(request).releases
    if releases.get(release_id, "researcher") is None or name not in releases.files(
        release_id, "researcher"
    ):
        raise PortalRefusal(404, "No such file in an approved release.")
    try:
        data = releases.file(release_id, name, "researcher")
    except ReleaseError as exc:
        raise PortalRefusal(404, f"This file cannot be served: {exc}") from None
    portal_of(request).store.audit(viewer.person.id, "release.download", release_id, name)
    filename = name.rsplit("/", 1)[-1].replace('"', "")
    return Response(
        data,
        media_type=mimetypes.guess_type(filename)[0] or "application/octet-stream",
        headers={**SECURITY_HEADERS, "Content-Disposition": f'attachment; filename="{filename}"'},
    )
