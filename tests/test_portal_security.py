"""The portal's security properties, each against a real collector on 127.0.0.1: session
fixation, CSRF, brute-force lockout, role guards and IDOR on every id-bearing URL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.portal_support import (
    PASSWORD,
    Portal,
    account,
    activity,
    csrf_of,
    page_csrf,
    portal_on,
    send_batch,
    sign_in,
)
from workprint.portal.accounts import MAX_FAILURES
from workprint.portal.security import SESSION_COOKIE


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Portal]:
    with portal_on(tmp_path_factory.mktemp("portal") / "data") as running:
        yield running


def test_session_fixation_a_planted_or_earlier_session_never_survives_sign_in(
    portal: Portal,
) -> None:
    _, login = account(portal, "subject")
    client = httpx.Client(base_url=portal.url)
    client.cookies.set(SESSION_COOKIE, "attacker-chosen-value", path="/portal")
    page = client.get("/portal/login")
    answer = client.post(
        "/portal/login", data={"login": login, "password": PASSWORD, "csrf": csrf_of(page.text)}
    )
    assert answer.status_code == 303
    issued = answer.cookies.get(SESSION_COOKIE)
    assert issued and issued != "attacker-chosen-value"
    attacker = httpx.Client(base_url=portal.url, cookies={SESSION_COOKIE: "attacker-chosen-value"})
    assert attacker.get("/portal/me").status_code == 303  # to the sign-in page
    # signing in again replaces the session: the old value stops working
    second = sign_in(portal, login)
    old = second.cookies.get(SESSION_COOKIE)
    page = second.get("/portal/login", follow_redirects=False)
    assert page.status_code == 303  # already signed in
    fresh = httpx.Client(base_url=portal.url, cookies={SESSION_COOKIE: str(old)})
    login_page = fresh.get("/portal/login")
    assert login_page.status_code == 303
    set_cookie = answer.headers["set-cookie"].lower()
    assert (
        "httponly" in set_cookie and "samesite=lax" in set_cookie and "path=/portal" in set_cookie
    )


def test_a_post_without_or_with_a_wrong_csrf_token_changes_nothing(portal: Portal) -> None:
    subject, login = account(portal, "subject")
    client = sign_in(portal, login)
    for data in (
        {"scope": "mouse", "action": "grant"},
        {"scope": "mouse", "action": "grant", "csrf": "x"},
    ):
        answer = client.post("/portal/me/consent", data=data)
        assert answer.status_code == 403
        assert "security token" in answer.text
    assert client.post("/portal/me/pause", data={"paused": "true"}).status_code == 403
    assert client.post("/portal/me/delete", data={"confirm": "delete"}).status_code == 403
    assert portal.store.consent_history(subject.id) == []
    assert portal.state.devices.pause_request(subject.id) is None
    assert portal.store.get_person(subject.id).erased_ns is None  # type: ignore[union-attr]
    # another site's form, even with the right token, is refused by its Origin
    token = page_csrf(client, "/portal/me")
    answer = client.post(
        "/portal/me/consent",
        data={"scope": "mouse", "action": "grant", "csrf": token},
        headers={"Origin": "http://evil.example"},
    )
    assert answer.status_code == 403
    ok = client.post(
        "/portal/me/consent", data={"scope": "mouse", "action": "grant", "csrf": token}
    )
    assert ok.status_code == 303
    assert [r.scopes for r in portal.store.consent_history(subject.id)] == [("mouse",)]
    # sign-in itself needs its double-submit token
    fresh = httpx.Client(base_url=portal.url)
    answer = fresh.post("/portal/login", data={"login": login, "password": PASSWORD})
    assert answer.status_code == 403 and SESSION_COOKIE not in answer.cookies


def test_brute_force_locks_the_login_even_for_the_right_password(portal: Portal) -> None:
    _, login = account(portal, "subject")
    client = httpx.Client(base_url=portal.url)
    statuses = []
    for attempt in range(MAX_FAILURES):
        page = client.get("/portal/login")
        answer = client.post(
            "/portal/login",
            data={"login": login, "password": f"wrong-{attempt}", "csrf": csrf_of(page.text)},
        )
        statuses.append(answer.status_code)
    assert statuses[:-1] == [401] * (MAX_FAILURES - 1) and statuses[-1] == 429
    page = client.get("/portal/login")
    answer = client.post(
        "/portal/login", data={"login": login, "password": PASSWORD, "csrf": csrf_of(page.text)}
    )
    assert answer.status_code == 429 and "locked" in answer.text
    assert SESSION_COOKIE not in answer.cookies
    assert any(e.action == "portal.login_locked" for e in portal.store.audit_entries())


def test_unknown_login_and_wrong_password_look_the_same(portal: Portal) -> None:
    _, login = account(portal, "subject")
    client = httpx.Client(base_url=portal.url)
    answers = []
    for name in (login, "nobody-at-all"):
        page = client.get("/portal/login")
        answers.append(
            client.post(
                "/portal/login",
                data={"login": name, "password": "wrong", "csrf": csrf_of(page.text)},
            )
        )
    assert {a.status_code for a in answers} == {401}
    assert all("Wrong login or password" in a.text for a in answers)


def test_idor_every_id_bearing_url_refuses_what_is_not_the_viewers(portal: Portal) -> None:
    victim, _ = account(portal, "subject", "Victim")
    assert victim.device_id is not None and victim.device_name is not None
    send_batch_after_grant(portal, victim)
    _, attacker_login = account(portal, "subject", "Attacker")
    steward, steward_login = account(portal, "steward")
    researcher, researcher_login = account(portal, "researcher")
    subject_client = sign_in(portal, attacker_login)
    token = page_csrf(subject_client, "/portal/me")
    # a subject addressing another's device: 404, exactly as for a device that does not exist
    for device_id in (victim.device_id, "d_does_not_exist"):
        answer = subject_client.post(f"/portal/me/devices/{device_id}/revoke", data={"csrf": token})
        assert answer.status_code == 404
    assert all(d.revoked_ns is None for d in portal.store.list_devices(victim.id))
    # the day drill-down shows only the viewer's own events
    day = subject_client.get("/portal/me/data")
    assert "Nothing is stored about you" in day.text
    victim_day = next(iter(portal.store.read_events(victim.id, actor="test"))).column("t")[0]
    from workprint.portal.timeline import day_name

    page = subject_client.get(f"/portal/me/data/{day_name(victim_day.as_py())}")
    assert page.status_code == 200 and "No event is stored for this day" in page.text
    # admin pages with a person or device id: 403 for every other role
    clients = {
        "subject": subject_client,
        "steward": sign_in(portal, steward_login),
        "researcher": sign_in(portal, researcher_login),
    }
    admin_urls = [
        ("get", f"/portal/admin/people/{victim.id}"),
        ("post", f"/portal/admin/people/{victim.id}/code"),
        ("post", f"/portal/admin/people/{victim.id}/account"),
        ("post", f"/portal/admin/people/{victim.id}/sessions/revoke"),
        ("post", f"/portal/admin/devices/{victim.device_id}/revoke"),
    ]
    steward_urls = [
        ("get", "/portal/steward/releases/r_any/report"),
        ("post", "/portal/steward/releases/r_any/approve"),
        ("get", "/portal/steward/policy/diff?a=1&b=1"),
    ]
    for role, client in clients.items():
        csrf = page_csrf(client)
        for method, url in admin_urls + (steward_urls if role != "steward" else []):
            answer = client.request(method, url, data={"csrf": csrf} if method == "post" else None)
            assert answer.status_code == 403, (role, url, answer.status_code)
    # a researcher's release URLs: an unknown or unapproved id is 404, never another's data
    researcher_client = clients["researcher"]
    for url in ("/portal/releases/r_unknown", "/portal/releases/r_unknown/files/train.parquet"):
        assert researcher_client.get(url).status_code == 404
    assert researcher_client.get("/portal/me/data").status_code == 403
    assert all(d.revoked_ns is None for d in portal.store.list_devices(victim.id))
    assert steward.id and researcher.id


def send_batch_after_grant(portal: Portal, subject: object) -> None:
    from tests.collector_support import Person

    assert isinstance(subject, Person) and subject.device_name is not None
    client = sign_in(portal, portal.state.logins.account(subject.id).login)  # type: ignore[union-attr]
    token = page_csrf(client, "/portal/me")
    for scope in ("input-timing", "text-content", "mouse", "app-usage"):
        client.post("/portal/me/consent", data={"scope": scope, "action": "grant", "csrf": token})
    assert send_batch(portal, subject, activity(subject.device_name, 30))["accepted"] == 30


def test_pages_carry_security_headers_and_no_script(portal: Portal) -> None:
    _, login = account(portal, "subject")
    client = sign_in(portal, login)
    page = client.get("/portal/me")
    policy = page.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "script-src" not in policy
    assert page.headers["x-frame-options"] == "DENY"
    assert "<script" not in page.text.lower()
    assert client.get("/portal/static/portal.css").status_code == 200


def test_admin_manages_people_without_reading_content(portal: Portal, tmp_path: Path) -> None:
    admin, login = account(portal, "admin")
    client = sign_in(portal, login)
    token = page_csrf(client, "/portal/admin/people")
    added = client.post(
        "/portal/admin/people", data={"csrf": token, "name": "New Person", "role": "subject"}
    )
    assert added.status_code == 303
    person_url = added.headers["location"]
    person_id = person_url.rsplit("/", 1)[-1]
    code_page = client.post(f"{person_url}/code", data={"csrf": token})
    assert code_page.status_code == 200 and "enrollment code" in code_page.text
    bad = client.post(
        f"{person_url}/account", data={"csrf": token, "login": "new.person", "password": "short"}
    )
    assert "at least 10 characters" in httpx.URL(bad.headers["location"]).params["error"]
    client.post(
        f"{person_url}/account", data={"csrf": token, "login": "new.person", "password": PASSWORD}
    )
    person_client = sign_in(portal, "new.person")
    assert person_client.get("/portal/me").status_code == 200
    client.post(f"{person_url}/sessions/revoke", data={"csrf": token})
    assert person_client.get("/portal/me").status_code == 303  # signed out everywhere
    for path in ("/portal/me/data", "/portal/steward/audit"):
        assert client.get(path).status_code == 403
    assert admin.id and person_id
