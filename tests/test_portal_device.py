"""The device side of the portal: the heartbeat endpoint, the merge of the server's consent
history into the local record, and the uploader thread carrying a portal grant and pause to the
recorder's control socket within seconds."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.portal_support import Portal, RecorderStandIn, account, device_home, portal_on
from workprint.events import SCOPES
from workprint.policy.consent import ConsentEntry, grant, load_consent
from workprint.portal.routes_subject import granted_now
from workprint.spool.device_control import DeviceControl, merge_consent
from workprint.spool.spool import Spool
from workprint.spool.uploader import Uploader
from workprint.store.interface import ConsentRecord


@pytest.fixture
def portal(tmp_path: Path) -> Iterator[Portal]:
    with portal_on(tmp_path / "data") as running:
        yield running


def test_heartbeat_needs_a_device_credential_and_a_known_state(portal: Portal) -> None:
    subject, _ = account(portal, "subject")
    steward, _ = account(portal, "steward")
    url = portal.url + "/v1/device/heartbeat"
    assert httpx.post(url, json={"state": "recording"}).status_code == 401
    assert httpx.post(url, json={"state": "recording"}, headers=steward.auth).status_code == 403
    bad = httpx.post(url, json={"state": "dancing"}, headers=subject.auth)
    assert bad.status_code == 422 and "error" in bad.json()
    good = httpx.post(url, json={"state": "paused", "scopes": ["mouse"]}, headers=subject.auth)
    assert good.status_code == 200 and good.json()["consent"] == []
    statuses = portal.state.devices.statuses(subject.id)
    assert statuses[str(subject.device_id)].state == "paused"


def test_the_uploader_thread_carries_a_portal_grant_and_pause_to_the_recorder(
    portal: Portal, tmp_path: Path
) -> None:
    subject, _ = account(portal, "subject")
    home = device_home()
    recorder = RecorderStandIn(home)
    spool = Spool.open(tmp_path / "spool.db", os.urandom(32), device_id=str(subject.device_name))
    http = httpx.Client()
    uploader = Uploader(
        spool,
        portal.url,
        subject.token,
        client=http,
        consent_file=home.consent_file,
        control=DeviceControl(home, interval_s=0.2),
    )
    uploader.start()
    try:
        record = ConsentRecord(
            t=time.time_ns(), action="grant", scopes=("mouse",), policy_version=1
        )
        portal.store.record_consent(subject.id, record)
        portal.state.devices.request_pause(subject.id, True)
        deadline = time.monotonic() + 30  # a bound for a slow machine, not a speed claim
        while time.monotonic() < deadline and not (
            recorder.paused and "mouse" in load_consent(home.consent_file).granted
        ):
            time.sleep(0.05)
        assert recorder.paused
        assert load_consent(home.consent_file).granted == ("mouse",)
        while time.monotonic() < deadline:
            status = portal.state.devices.statuses(subject.id).get(str(subject.device_id))
            if status is not None and status.state == "paused":
                break
            time.sleep(0.05)
        assert status is not None and status.state == "paused" and status.scopes == ("mouse",)
    finally:
        uploader.stop()
        http.close()
        spool.close()
        recorder.stop()


def test_a_pause_request_is_applied_once_so_a_local_resume_stands(portal: Portal) -> None:
    subject, _ = account(portal, "subject")
    home = device_home()
    recorder = RecorderStandIn(home)
    control = DeviceControl(home)
    with httpx.Client() as http:
        try:
            portal.state.devices.request_pause(subject.id, True)
            assert control.sync(http, portal.url, subject.auth).pause_applied is True
            recorder.paused = False  # the person resumed with the hotkey on the device
            again = control.sync(http, portal.url, subject.auth)
            assert again.pause_applied is None and not recorder.paused
        finally:
            recorder.stop()


def test_without_a_recorder_the_device_reports_stopped_and_keeps_the_request(
    portal: Portal,
) -> None:
    subject, _ = account(portal, "subject")
    home = device_home()
    control = DeviceControl(home)
    portal.state.devices.request_pause(subject.id, True)
    with httpx.Client() as http:
        outcome = control.sync(http, portal.url, subject.auth)
    assert outcome.state == "stopped" and outcome.pause_applied is None
    assert control.applied_pause_t is None  # applied when a recorder listens
    unreachable = DeviceControl(home).sync(httpx.Client(), "http://127.0.0.1:9", subject.auth)
    assert unreachable.error is not None and "cannot reach" in unreachable.error


entries = st.builds(
    ConsentEntry,
    t=st.integers(0, 50),
    action=st.sampled_from(["grant", "revoke"]),
    scopes=st.lists(st.sampled_from(SCOPES), min_size=1, max_size=3, unique=True).map(tuple),
    policy_version=st.integers(0, 2),
)


@settings(max_examples=60, deadline=None)
@given(local=st.lists(entries, max_size=6), server=st.lists(entries, max_size=6))
def test_merge_replays_the_union_in_time_order(
    local: list[ConsentEntry], server: list[ConsentEntry], tmp_path_factory: pytest.TempPathFactory
) -> None:
    path = tmp_path_factory.mktemp("consent") / "consent.json"
    for entry in sorted(local, key=lambda e: e.t):
        (grant if entry.action == "grant" else _revoke)(path, entry.scopes, 1, now_ns=entry.t)
    before = load_consent(path)
    changed = merge_consent(path, server)
    after = load_consent(path)
    keys = {(e.t, e.action, e.scopes) for e in after.history}
    assert {(e.t, e.action, e.scopes) for e in server} <= keys
    assert changed == (len(after.history) != len(before.history))
    history = [
        ConsentRecord(t=e.t, action=e.action, scopes=e.scopes, policy_version=e.policy_version)
        for e in after.history
    ]
    assert set(after.granted) == granted_now(history)
    assert merge_consent(path, server) is False  # idempotent


def _revoke(path: Path, scopes: tuple[str, ...], version: int, *, now_ns: int) -> object:
    from workprint.policy.consent import revoke

    return revoke(path, scopes, version, now_ns=now_ns)
