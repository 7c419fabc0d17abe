"""Steward pages: the release policy (versions, edit, diff), consent statistics per team (only
aggregates, suppressed below the policy's minimum group size), releases waiting for approval
with their privacy report, and the audit log with its verification status."""

from __future__ import annotations

from typing import Final
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from workprint.events import SCOPES
from workprint.policy.consent import effective_scopes
from workprint.portal.charts import bar_chart
from workprint.portal.pages import SECURITY_HEADERS, PortalRefusal, redirect, render
from workprint.portal.policy_versions import PolicyError, diff_lines, validate_policy
from workprint.portal.releases import REPORT_NAME, ReleaseError
from workprint.portal.routes_subject import granted_now
from workprint.portal.security import StewardViewer, csrf_form, portal_of, text_field
from workprint.portal.state import PortalState

router = APIRouter(prefix="/portal/steward", include_in_schema=False)
AUDIT_PAGE: Final = 200


@router.get("/policy")
def policy_page(request: Request, viewer: StewardViewer) -> Response:
    portal = portal_of(request)
    current = portal.policies.current()
    return render(
        request,
        "policy.html",
        viewer,
        current=current,
        text=current.text,
        versions=portal.policies.versions(),
        error="",
        saved=request.query_params.get("saved", ""),
    )


@router.post("/policy")
async def save_policy(request: Request, viewer: StewardViewer) -> Response:
    form = await csrf_form(request, viewer)
    text = text_field(form, "text", max_chars=64 * 1024)
    note = str(form.get("note", ""))[:200]
    portal = portal_of(request)
    try:
        # off the event loop: a changed retention period rewrites the store's files at once
        version = await run_in_threadpool(portal.save_policy, text, viewer.person.id, note)
    except PolicyError as exc:
        current = portal.policies.current()
        return render(
            request,
            "policy.html",
            viewer,
            status=422,
            current=current,
            text=text,
            versions=portal.policies.versions(),
            error=f"Not saved: {exc}",
            saved="",
        )
    return redirect(f"/portal/steward/policy/diff?a={version.version - 1}&b={version.version}")


@router.get("/policy/diff")
def policy_diff(request: Request, viewer: StewardViewer, a: int, b: int) -> Response:
    portal = portal_of(request)
    old, new = portal.policies.get(a), portal.policies.get(b)
    if old is None or new is None:
        raise PortalRefusal(404, "No such policy version.")
    return render(request, "policy_diff.html", viewer, old=old, new=new, lines=diff_lines(old, new))


def consent_rates(portal: PortalState) -> tuple[int, list[dict[str, object]]]:
    """Per team: how many members, and per scope the share that grants it now; teams smaller
    than the policy's minimum group size are reported as suppressed, with no figure at all."""
    policy = validate_policy(portal.policies.current().text)
    minimum = policy.dp.min_group_size
    subjects = {
        p.id for p in portal.store.list_people() if p.role == "subject" and p.erased_ns is None
    }
    teams = {name: [p for p in people if p in subjects] for name, people in policy.teams.items()}
    teams["everyone"] = sorted(subjects)
    rows: list[dict[str, object]] = []
    for name, members in teams.items():
        if len(members) < minimum:
            rows.append({"team": name, "suppressed": True})
            continue
        counts = dict.fromkeys(SCOPES, 0)
        for person in members:
            for scope in effective_scopes(granted_now(portal.store.consent_history(person))):
                counts[scope] += 1
        rates = [(scope, round(100 * counts[scope] / len(members))) for scope in SCOPES]
        rows.append(
            {
                "team": name,
                "suppressed": False,
                "size": len(members),
                "rates": rates,
                "chart": bar_chart(f"Consent rate per scope, team {name}", rates, unit="%"),
            }
        )
    return minimum, rows


@router.get("/consent")
def consent_stats(request: Request, viewer: StewardViewer) -> Response:
    minimum, rows = consent_rates(portal_of(request))
    return render(request, "consent_stats.html", viewer, minimum=minimum, rows=rows)


@router.get("/audit")
def audit_page(request: Request, viewer: StewardViewer) -> Response:
    portal = portal_of(request)
    verdict = portal.store.verify_audit()
    entries = portal.store.audit_entries()
    return render(
        request,
        "audit.html",
        viewer,
        verdict=verdict,
        entries=list(reversed(entries[-AUDIT_PAGE:])),
        total=len(entries),
    )


@router.get("/releases")
def releases_page(request: Request, viewer: StewardViewer) -> Response:
    listed = portal_of(request).releases.listed("steward")
    return render(
        request,
        "steward_releases.html",
        viewer,
        releases=listed,
        error=request.query_params.get("error", "")[:300],
    )


@router.get("/releases/{release_id}/report")
def privacy_report(release_id: str, request: Request, viewer: StewardViewer) -> Response:
    releases = portal_of(request).releases
    if releases.get(release_id, "steward") is None:
        raise PortalRefusal(404, "No such release.")
    try:
        html = releases.file(release_id, REPORT_NAME, "steward")
    except ReleaseError as exc:
        raise PortalRefusal(404, f"The privacy report cannot be shown: {exc}") from None
    # the report is the release tool's own page: shown sandboxed, with its inline style only
    policy = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox"
    headers = {**SECURITY_HEADERS, "Content-Security-Policy": policy}
    return Response(html, media_type="text/html; charset=utf-8", headers=headers)


@router.post("/releases/{release_id}/approve")
async def approve(release_id: str, request: Request, viewer: StewardViewer) -> Response:
    await csrf_form(request, viewer)
    portal = portal_of(request)
    if portal.releases.get(release_id, "steward") is None:
        raise PortalRefusal(404, "No such release.")
    try:
        portal.releases.approve(release_id, viewer.person.id, portal.store)
    except ReleaseError as exc:
        return redirect(f"/portal/steward/releases?error={quote(str(exc)[:300])}")
    return redirect("/portal/steward/releases")
