"""Helpers for the portal's browser tests: Debian's Chromium under Playwright (never downloaded),
signing in through the real form, a populated portal with every role, and axe-core (vendored in
tests/data/axe, MPL-2.0) run inside the page."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from tests.portal_support import PASSWORD, Portal, account, activity, send_batch, serving
from tests.release_support import make_world, policy
from workprint.release.registry import ReleaseInfo
from workprint.store.interface import ConsentRecord
from workprint.testbed.chromium import CHROMIUM

AXE_SOURCE: Final = Path(__file__).parent / "data" / "axe" / "axe.min.js"
WAIT_MS: Final = 30_000  # generous: the machine is shared, Playwright waits only as long as needed
LAPTOP: Final = {"width": 1280, "height": 800}
PHONE: Final = {"width": 375, "height": 740}
LONG_DEVICE_NAME: Final = (
    "ada-thinkpad-x1-carbon-gen11-workstation-in-the-north-wing-0123456789abcdef"
)
BLOCKING_IMPACTS: Final = frozenset({"serious", "critical"})


def have_chromium() -> bool:
    return os.path.exists(CHROMIUM)


def sign_in(page: Any, url: str, login: str, password: str = PASSWORD) -> None:
    """Through the real form; returns once the page after sign-in has loaded."""
    page.set_default_timeout(WAIT_MS)
    page.set_default_navigation_timeout(WAIT_MS)
    page.goto(url + "/portal/login")
    page.get_by_label("Login").fill(login)
    page.get_by_label("Password").fill(password)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """axe-core's violations on the loaded page. Evaluated through the DevTools protocol, which
    the page's CSP (no script source at all) does not govern."""
    page.evaluate(AXE_SOURCE.read_text(encoding="utf-8"))
    result: dict[str, Any] = page.evaluate(
        "async () => await axe.run(document, {resultTypes: ['violations']})"
    )
    violations: list[dict[str, Any]] = result["violations"]
    return violations


def blocking(violations: list[dict[str, Any]]) -> list[str]:
    """One readable line per serious or critical violation, with the elements it names."""
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — "
        + json.dumps([n["target"] for n in v["nodes"]][:4])
        for v in violations
        if v.get("impact") in BLOCKING_IMPACTS
    ]


@dataclass
class Populated:
    """A running portal holding a subject with events, a device heartbeat and consent, a steward
    who saved a policy version, a researcher, an admin, and one approved and one pending release."""

    portal: Portal
    logins: dict[str, str]
    subject_id: str
    admin_target: str
    approved: ReleaseInfo
    pending: ReleaseInfo
    day: str
    extra: dict[str, str] = field(default_factory=dict)


@contextmanager
def populated_portal(tmp: Path) -> Iterator[Populated]:
    world = make_world(tmp / "data")
    approved = world.release(policy('[fields]\ntiming = "drop"\n'), name="typing-study")
    pending = world.release(policy('[fields]\ntiming = "drop"\n'), name="editor-actions")
    try:
        with serving(world.store) as portal:
            portal.state.releases.root = world.root
            subject, subject_login = account(portal, "subject", "Ada Example")
            steward, steward_login = account(portal, "steward", "Sam Steward")
            _, researcher_login = account(portal, "researcher", "Rae Researcher")
            _, admin_login = account(portal, "admin", "Ann Admin")
            code = portal.store.create_enrollment_code(subject.id)
            long_device = portal.store.redeem_enrollment_code(code, LONG_DEVICE_NAME)
            portal.state.devices.heartbeat(
                long_device.device_id, subject.id, "recording", ("input-timing", "mouse")
            )
            scopes = ("input-timing", "text-content", "mouse", "app-usage")
            record = ConsentRecord(
                t=time.time_ns(), action="grant", scopes=scopes, policy_version=1
            )
            portal.store.record_consent(subject.id, record)
            assert subject.device_name is not None
            send_batch(portal, subject, activity(subject.device_name, 60))
            text = portal.state.policies.current().text.replace("raw_days = 30", "raw_days = 60")
            portal.state.save_policy(text, steward.id, "keep raw events 60 days")
            portal.state.releases.approve(approved.id, steward.id, portal.store)
            day = time.strftime("%Y-%m-%d", time.gmtime())
            yield Populated(
                portal,
                {
                    "subject": subject_login,
                    "steward": steward_login,
                    "researcher": researcher_login,
                    "admin": admin_login,
                },
                subject.id,
                subject.id,
                approved,
                pending,
                day,
            )
    finally:
        world.store.close()


def main_pages(world: Populated) -> list[tuple[str, str, str]]:
    """(role, page name, path) for every main page; role "" is signed out."""
    return [
        ("", "sign-in", "/portal/login"),
        ("subject", "subject-consent", "/portal/me"),
        ("subject", "subject-live", "/portal/me/live"),
        ("subject", "subject-timeline", "/portal/me/data"),
        ("subject", "subject-day", f"/portal/me/data/{world.day}"),
        ("subject", "subject-export", "/portal/me/export"),
        ("subject", "subject-delete", "/portal/me/delete"),
        ("steward", "steward-policy", "/portal/steward/policy"),
        ("steward", "steward-policy-diff", "/portal/steward/policy/diff?a=1&b=2"),
        ("steward", "steward-consent", "/portal/steward/consent"),
        ("steward", "steward-releases", "/portal/steward/releases"),
        ("steward", "steward-audit", "/portal/steward/audit"),
        ("researcher", "researcher-catalog", "/portal/releases"),
        ("researcher", "researcher-release", f"/portal/releases/{world.approved.id}"),
        ("admin", "admin-people", "/portal/admin/people"),
        ("admin", "admin-person", f"/portal/admin/people/{world.admin_target}"),
    ]
