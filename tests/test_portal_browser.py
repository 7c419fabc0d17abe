"""End to end in a real browser (Debian's Chromium driven by Playwright) against a real collector
on 127.0.0.1: a subject signs in, grants scopes that reach the device, sees events sent through
the ingest API, pauses, exports and deletes; a steward approves a release and a researcher
downloads it; role violations and forged posts are refused. Screenshots of the main pages are
written to $WORKPRINT_PORTAL_SCREENSHOTS (default: the test's temporary directory)."""

from __future__ import annotations

import io
import os
import threading
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import httpx
import pytest

from tests.collector_support import free_port
from tests.portal_browser_support import WAIT_MS
from tests.portal_support import (
    PASSWORD,
    Portal,
    RecorderStandIn,
    account,
    activity,
    device_home,
    portal_on,
    send_batch,
    serving,
)
from workprint.policy.consent import load_consent
from workprint.spool.device_control import DeviceControl
from workprint.testbed.chromium import CHROMIUM, CHROMIUM_ARGS

pytestmark = pytest.mark.skipif(
    not os.path.exists(CHROMIUM), reason="needs Debian's chromium (apt-get install chromium)"
)
playwright_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with playwright_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("WORKPRINT_PORTAL_SCREENSHOTS") or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def portal(tmp_path: Path) -> Iterator[Portal]:
    with portal_on(tmp_path / "data") as running:
        yield running


def sign_in(page: object, portal: Portal, login: str, password: str = PASSWORD) -> None:
    # generous waits on a loaded machine: Playwright waits only as long as each step needs
    page.set_default_timeout(WAIT_MS)  # type: ignore[attr-defined]
    page.set_default_navigation_timeout(WAIT_MS)  # type: ignore[attr-defined]
    page.goto(portal.url + "/portal/login")  # type: ignore[attr-defined]
    page.get_by_label("Login").fill(login)  # type: ignore[attr-defined]
    page.get_by_label("Password").fill(password)  # type: ignore[attr-defined]
    press(page, "Sign in")


def press(page: object, name: str) -> None:
    """Click a button or link and wait for the page it leads to."""
    with page.expect_navigation():  # type: ignore[attr-defined]
        page.get_by_role("button", name=name).or_(page.get_by_role("link", name=name)).first.click()  # type: ignore[attr-defined]


def test_subject_grants_sees_pauses_exports_and_deletes(
    browser: object, portal: Portal, shots: Path
) -> None:
    subject, login = account(portal, "subject", "Ada Example")
    assert subject.device_id is not None and subject.device_name is not None
    home = device_home()
    recorder = RecorderStandIn(home)
    control = DeviceControl(home)
    device = httpx.Client()
    headers = subject.auth
    context = browser.new_context(viewport={"width": 1200, "height": 900})  # type: ignore[attr-defined]
    page = context.new_page()
    try:
        sign_in(page, portal, login)
        assert page.url.endswith("/portal/me"), page.content()[-800:]
        assert "Not allowed" in page.content()
        for title in ("typing rhythm", "what you type", "mouse", "applications"):
            press(page, f"Allow {title}")
        page.screenshot(path=str(shots / "subject-consent.png"), full_page=True)

        # the device pulls the grant: its local consent record now allows what the page said
        outcome = control.sync(device, portal.url, headers)
        assert outcome.error is None and outcome.consent_changed
        local = load_consent(home.consent_file)
        assert local.effective_scopes() == {"input-timing", "text-content", "mouse", "app-usage"}
        assert "reload-consent" in recorder.commands

        # a real batch through the ingest API, recorded after the grant
        events = activity(subject.device_name, 120)
        result = send_batch(portal, subject, events)
        assert result["accepted"] == 120
        press(page, "My data")
        day_link = page.locator("a[href^='/portal/me/data/']").first
        assert "120" in page.locator("tbody tr").first.inner_text()
        page.screenshot(path=str(shots / "subject-timeline.png"), full_page=True)
        day_link.click()
        assert page.locator("table.events tbody tr").count() == 120
        assert "gedit" in page.content()

        # live view: the heartbeat shows "recording"; pause from the page reaches the device
        control.sync(device, portal.url, headers)
        press(page, "Live")
        assert "recording" in page.locator("tbody").inner_text()
        press(page, "Pause recording")
        paused = control.sync(device, portal.url, headers)
        assert paused.pause_applied is True and recorder.paused
        control.sync(device, portal.url, headers)  # the next heartbeat reports it
        page.reload()
        assert "paused" in page.locator("tbody").inner_text()
        page.screenshot(path=str(shots / "subject-live.png"), full_page=True)

        # export: the zip holds every event
        press(page, "Export")
        with page.expect_download() as download_info:
            page.get_by_role("button", name="Download my data").click()
        archive = zipfile.ZipFile(io.BytesIO(Path(download_info.value.path()).read_bytes()))
        lines = archive.read("events.jsonl").decode().splitlines()
        assert len(lines) == 120
        assert {"person.json", "consent.json", "README.txt"} <= set(archive.namelist())

        # delete: a wrong confirmation deletes nothing; the right one erases everything
        press(page, "Delete")
        page.screenshot(path=str(shots / "subject-delete.png"), full_page=True)
        page.get_by_label("to confirm").fill("yes")
        press(page, "Delete everything about me")
        assert "nothing was deleted" in page.content()
        assert portal.store.get_person(subject.id).erased_ns is None  # type: ignore[union-attr]
        page.get_by_label("to confirm").fill("delete")
        press(page, "Delete everything about me")
        assert "Everything about you was deleted" in page.content()

        person = portal.store.get_person(subject.id)
        assert person is not None and person.erased_ns is not None and person.name == ""
        assert sum(t.num_rows for t in portal.store.read_events(subject.id, actor="test")) == 0
        assert portal.state.logins.account(subject.id) is None
        assert httpx.post(portal.url + "/v1/batches", headers=headers).status_code == 401
        actions = [e.action for e in portal.store.audit_entries() if e.target == subject.id]
        assert "subject.export" in actions and "person.forget" in actions
        page.goto(portal.url + "/portal/me")
        assert page.url.endswith("/portal/login")
        sign_in(page, portal, login)
        assert "Wrong login or password" in page.content()
    finally:
        context.close()
        recorder.stop()
        device.close()


def test_steward_approves_and_researcher_downloads(
    browser: object, tmp_path: Path, shots: Path
) -> None:
    from tests.release_support import make_world, policy

    world = make_world(tmp_path)
    release = world.release(policy('[fields]\ntiming = "drop"\n'))
    assert release.status == "pending", release.reasons
    with serving(world.store) as portal:
        portal.state.releases.root = world.root
        steward, steward_login = account(portal, "steward", "Sam Steward")
        researcher, researcher_login = account(portal, "researcher", "Rae Researcher")
        context = browser.new_context()  # type: ignore[attr-defined]
        page = context.new_page()
        sign_in(page, portal, researcher_login)
        page.goto(portal.url + "/portal/releases")
        assert "No release has been approved yet" in page.content()  # pending is invisible
        page.goto(portal.url + f"/portal/releases/{release.id}")
        assert "No such approved release" in page.content()
        context.close()

        context = browser.new_context(viewport={"width": 1200, "height": 900})  # type: ignore[attr-defined]
        page = context.new_page()
        sign_in(page, portal, steward_login)
        page.goto(portal.url + "/portal/steward/releases")
        assert "waiting for approval" in page.content()
        page.screenshot(path=str(shots / "steward-releases.png"), full_page=True)
        report = page.goto(portal.url + f"/portal/steward/releases/{release.id}/report")
        assert report is not None and report.status == 200
        assert report.body() == (Path(release.path) / "privacy-report.html").read_bytes()
        page.goto(portal.url + "/portal/steward/releases")
        press(page, f"Approve {release.name}")
        assert "approved by" in page.content()
        page.goto(portal.url + "/portal/steward/audit")
        assert "Verified" in page.content() and "release.approve" in page.content()
        page.screenshot(path=str(shots / "steward-audit.png"), full_page=True)
        page.goto(portal.url + "/portal/steward/policy")
        page.screenshot(path=str(shots / "steward-policy.png"), full_page=True)
        context.close()

        context = browser.new_context(viewport={"width": 1200, "height": 900})  # type: ignore[attr-defined]
        page = context.new_page()
        sign_in(page, portal, researcher_login)
        press(page, f"{release.name} v{release.version}")
        page.screenshot(path=str(shots / "researcher-release.png"), full_page=True)
        files = page.locator("a[download]")
        assert files.count() >= 1
        with page.expect_download() as download_info:
            files.first.click()
        name = files.first.inner_text()
        downloaded = Path(download_info.value.path()).read_bytes()
        assert downloaded == (Path(release.path) / name).read_bytes()
        # a researcher opening raw data or people is refused
        for path in ("/portal/me/data", "/portal/steward/audit", "/portal/admin/people"):
            response = page.goto(portal.url + path)
            assert response is not None and response.status == 403, path
        context.close()
        assert steward.id and researcher.id


class _Attacker(BaseHTTPRequestHandler):
    """Another site serving a page that auto-submits a form to the portal."""

    target = ""

    def do_GET(self) -> None:
        body = (
            f'<form id="f" method="post" action="{self.target}/portal/me/consent">'
            '<input name="scope" value="browsing"><input name="action" value="grant">'
            '<input name="csrf" value="guessed"></form>'
            "<script>document.getElementById('f').submit()</script>"
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_role_violations_and_forged_posts_are_refused(
    browser: object, portal: Portal, shots: Path
) -> None:
    subject, login = account(portal, "subject", "Bo Example")
    other, _ = account(portal, "subject", "Cy Other")
    assert other.device_id is not None
    context = browser.new_context(viewport={"width": 390, "height": 844})  # type: ignore[attr-defined]
    page = context.new_page()
    sign_in(page, portal, login)
    page.screenshot(path=str(shots / "subject-consent-phone.png"), full_page=True)
    for path in (
        f"/portal/admin/people/{other.id}",
        "/portal/steward/audit",
        "/portal/steward/policy",
        "/portal/releases",
    ):
        response = page.goto(portal.url + path)
        assert response is not None and response.status == 403, path
    # another subject's device, addressed by its id: not found, and not revoked
    answer = page.request.post(
        portal.url + f"/portal/me/devices/{other.device_id}/revoke",
        form={"csrf": page.locator("input[name=csrf]").first.get_attribute("value") or ""},
        headers={"Origin": portal.url},
    )
    assert answer.status == 404
    assert all(d.revoked_ns is None for d in portal.store.list_devices(other.id))

    # a forged token from the signed-in browser itself
    forged = page.request.post(
        portal.url + "/portal/me/consent",
        form={"scope": "browsing", "action": "grant", "csrf": "forged"},
    )
    assert forged.status == 403
    # a cross-site page posting to the portal
    _Attacker.target = portal.url
    attacker = HTTPServer(("127.0.0.1", free_port()), _Attacker)
    thread = threading.Thread(target=attacker.serve_forever, daemon=True)
    thread.start()
    try:
        page.goto(f"http://localhost:{attacker.server_port}/")
        page.wait_for_load_state()
    finally:
        attacker.shutdown()
    assert portal.store.consent_history(subject.id) == []  # nothing was granted
    context.close()
