"""The steward's policy acts: ``[retention] raw_days`` drives the store's retention job (at once
when it changes, and in ``workprint admin retention run``), and ``[exclusions]`` reach each
device through the heartbeat, are merged into its edge policy file and make the recorder's real
gate drop those applications and sites."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import msgspec
import pytest

from tests.portal_support import (
    Portal,
    RecorderStandIn,
    account,
    activity,
    device_home,
    page_csrf,
    portal_on,
    send_batch,
    sign_in,
)
from tests.test_admin_cli import Cli
from workprint.agent.recorder import Recorder
from workprint.events import Gap, SessionStart, WindowFocus
from workprint.policy import EdgePolicy, load_policy, to_toml
from workprint.policy.consent import grant
from workprint.portal.db import open_portal_db
from workprint.portal.policy_versions import PolicyVersions, portal_sections
from workprint.spool.device_control import PORTAL_RULE_REASON, DeviceControl
from workprint.store.interface import ConsentRecord

DAY_NS = 86_400 * 10**9


@pytest.fixture
def portal(tmp_path: Path) -> Iterator[Portal]:
    with portal_on(tmp_path / "data") as running:
        yield running


def edited(portal: Portal, *, days: int | None = None, apps: str = "", sites: str = "") -> str:
    """The current policy text with raw_days, exclusions.apps or exclusions.sites replaced."""
    text = portal.state.policies.current().text
    if days is not None:
        text = re.sub(r"raw_days = \S+", f"raw_days = {days}", text)
    if apps:
        text = re.sub(r"apps = \[.*\]", f"apps = {apps}", text)
    if sites:
        text = re.sub(r"sites = \[.*\]", f"sites = {sites}", text)
    return text


def save(client: httpx.Client, text: str) -> httpx.Response:
    csrf = page_csrf(client, "/portal/steward/policy")
    return client.post("/portal/steward/policy", data={"csrf": csrf, "text": text, "note": "t"})


def stored(portal: Portal, person_id: str) -> int:
    return sum(t.num_rows for t in portal.store.read_events(person_id, actor="test"))


def test_a_saved_retention_period_deletes_older_raw_events_at_once(portal: Portal) -> None:
    subject, _ = account(portal, "subject")
    steward, steward_login = account(portal, "steward")
    assert subject.device_name is not None
    now = time.time_ns()
    scopes = ("input-timing", "text-content", "mouse", "app-usage")
    record = ConsentRecord(t=now - 200 * DAY_NS, action="grant", scopes=scopes, policy_version=1)
    portal.store.record_consent(subject.id, record)
    for n, age_days, first_seq in ((40, 100, 0), (30, 45, 1000), (20, 0, 2000)):
        events = activity(subject.device_name, n, t0=now - age_days * DAY_NS)
        renumbered = [msgspec.structs.replace(e, seq=e.seq + first_seq) for e in events]
        assert send_batch(portal, subject, renumbered)["accepted"] == n
    assert stored(portal, subject.id) == 90
    client = sign_in(portal, steward_login)
    try:
        bad = save(client, edited(portal, days=0))
        assert bad.status_code == 422 and "retention.raw_days" in bad.text
        assert stored(portal, subject.id) == 90  # a refused policy deletes nothing

        assert save(client, edited(portal, days=60)).status_code == 303
        assert stored(portal, subject.id) == 50  # 100 days old: gone; 45 and 0: kept
        assert save(client, edited(portal, days=30)).status_code == 303
        assert stored(portal, subject.id) == 20
        runs = [e for e in portal.store.audit_entries() if e.action == "retention.apply"]
        assert [(e.actor, e.details.split()[0]) for e in runs] == [
            (steward.id, "days=60"),
            (steward.id, "days=30"),
        ]
        assert save(client, edited(portal, apps='["zoom"]')).status_code == 303
        again = [e for e in portal.store.audit_entries() if e.action == "retention.apply"]
        assert len(again) == 2  # the period did not change: no run
    finally:
        client.close()
    assert portal_sections(portal.state.policies.current().text).raw_days == 30


def test_admin_retention_run_follows_the_portal_policy(tmp_path: Path) -> None:
    cli = Cli(tmp_path)
    assert cli.store("admin", "add-person", "Sam", "--role", "steward").returncode == 0
    default = cli.store("admin", "retention", "run")
    assert default.returncode == 0 and "30 days" in default.stdout, default.stdout
    db = open_portal_db(cli.data)
    try:
        versions = PolicyVersions(db)
        text = re.sub(r"raw_days = \S+", "raw_days = 45", versions.current().text)
        versions.save(text, "p_steward", "keep 45 days")
    finally:
        db.close()
    steered = cli.store("admin", "retention", "run")
    assert steered.returncode == 0, steered.stderr
    assert "45 days" in steered.stdout and "portal policy v2" in steered.stdout
    explicit = cli.store("admin", "retention", "run", "--days", "7")
    assert explicit.returncode == 0 and "7 days" in explicit.stdout


def test_exclusions_reach_the_device_policy_file_and_the_gate(portal: Portal) -> None:
    subject, _ = account(portal, "subject")
    _, steward_login = account(portal, "steward")
    home = device_home()
    local_site = "intranet.local.example"
    own = load_policy(None)
    home.policy_file.parent.mkdir(parents=True, exist_ok=True)
    browser = own.browser.__class__(exclude_sites=(*own.browser.exclude_sites, local_site))
    home.policy_file.write_text(to_toml(own.__class__(exclude=own.exclude, browser=browser)))
    recorder = RecorderStandIn(home)
    control = DeviceControl(home)
    device = httpx.Client()
    client = sign_in(portal, steward_login)
    try:
        first = control.sync(device, portal.url, subject.auth)  # the default policy's exclusions
        assert first.error is None and first.policy_changed
        assert save(client, edited(portal, apps='["zoom", "Slack"]', sites='["bank.example"]'))
        synced = control.sync(device, portal.url, subject.auth)
        assert synced.error is None and synced.policy_changed
        assert recorder.commands.count("reload-policy") == 2
        assert control.sync(device, portal.url, subject.auth).policy_changed is False

        policy = load_policy(home.policy_file)
        portal_rules = [r for r in policy.exclude if r.reason == PORTAL_RULE_REASON]
        assert len(portal_rules) == 1
        assert len(policy.exclude) == len(own.exclude) + 1  # the device's own rules are kept
        assert policy.matches_exclusion("zoom", None) is not None
        assert policy.matches_exclusion("slack", "general") is not None
        assert policy.matches_exclusion("zoomer", None) is None  # whole names only
        assert policy.matches_exclusion("keepassxc", None) is not None  # packaged default stays
        assert policy.browser.site_excluded("https://bank.example/login")
        assert policy.browser.site_excluded(f"https://{local_site}/")

        gate = EdgePolicy(policy, frozenset({"app-usage", "input-timing"}))
        kept = gate.admit(
            [
                SessionStart(t=1, session="s", seq=0, device="d"),
                WindowFocus(t=2, session="s", seq=1, app="gedit"),
                WindowFocus(t=3, session="s", seq=2, app="Zoom", title="Weekly call"),
            ]
        )
        assert [type(e).__name__ for e in kept] == ["SessionStart", "WindowFocus", "Gap"]
        assert isinstance(kept[2], Gap) and kept[2].reason == "excluded"

        # the steward narrows the list: the device follows, its own site stays excluded
        assert save(client, edited(portal, apps='["Slack"]', sites='["*.bank.example"]'))
        assert control.sync(device, portal.url, subject.auth).policy_changed
        policy = load_policy(home.policy_file)
        assert policy.matches_exclusion("zoom", None) is None
        assert policy.matches_exclusion("Slack", None) is not None
        assert not policy.browser.site_excluded("https://bank.example/")
        assert policy.browser.site_excluded("https://www.bank.example/")
        assert policy.browser.site_excluded(f"https://{local_site}/")
    finally:
        client.close()
        recorder.stop()
        device.close()


def test_the_recorder_reloads_its_policy_file_on_command(tmp_path: Path) -> None:
    """The real recorder (no display needed to build it): ``reload-policy`` swaps the policy its
    gate uses, so an application excluded on the portal is dropped from the next batch."""
    home = device_home()
    grant(home.consent_file, ["app-usage"], policy_version=1)
    recorder = Recorder(home, display=":0")
    focus = WindowFocus(t=time.time_ns(), session=recorder.session, seq=1, app="zoom")
    assert recorder.policy.matches_exclusion("zoom", None) is None
    policy = load_policy(None)
    rule = policy.exclude[0].__class__(app="(?i)^(?:zoom)$", reason=PORTAL_RULE_REASON)
    home.policy_file.write_text(to_toml(policy.__class__(exclude=(*policy.exclude, rule))))
    assert recorder.handle_command({"cmd": "reload-policy"}) == {"ok": True, "changed": True}
    assert recorder.gate.policy.matches_exclusion("zoom", None) is not None
    assert [type(e).__name__ for e in recorder.gate.admit([focus])] == ["Gap"]
    assert recorder.handle_command({"cmd": "reload-policy"}) == {"ok": True, "changed": False}
    home.policy_file.write_text("[capture]\nmouse_move_max_hz = 'fast'\n")
    broken = recorder.handle_command({"cmd": "reload-policy"})
    assert broken["ok"] is False and "mouse_move_max_hz" in broken["error"]
    assert recorder.gate.policy.matches_exclusion("zoom", None) is not None  # the last good one
