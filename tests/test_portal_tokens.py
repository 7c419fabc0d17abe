"""Personal API token revocation: in the store (audited, device credentials untouched), through
the collector's admin route, from the portal's admin page and with ``workprint admin
revoke-token`` — a revoked token is refused (401) on the very next request."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.portal_support import Portal, account, page_csrf, portal_on, sign_in
from tests.test_admin_cli import Cli, one_line_error
from workprint.store.interface import NotFoundError

VERIFY = "/v1/audit/verify"  # any call a steward's API token may make


@pytest.fixture
def portal(tmp_path: Path) -> Iterator[Portal]:
    with portal_on(tmp_path / "data") as running:
        yield running


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_the_store_revokes_every_api_token_of_a_person_and_only_those(portal: Portal) -> None:
    store = portal.store
    steward, _ = account(portal, "steward")
    second = store.create_api_token(steward.id)
    subject, _ = account(portal, "subject")
    subject_api = store.create_api_token(subject.id)
    assert store.authenticate(steward.token) is not None and store.authenticate(second)

    assert store.revoke_api_tokens(steward.id, actor="p_admin") == 2
    assert store.authenticate(steward.token) is None and store.authenticate(second) is None
    assert store.revoke_api_tokens(steward.id, actor="p_admin") == 0  # nothing left: no error

    assert store.revoke_api_tokens(subject.id, actor="p_admin") == 1
    assert store.authenticate(subject_api) is None
    device = store.authenticate(subject.token)  # the device credential is not an API token
    assert device is not None and device.device_id == subject.device_id

    entries = [e for e in store.audit_entries() if e.action == "token.revoke"]
    assert [(e.actor, e.target, e.details) for e in entries] == [
        ("p_admin", steward.id, "tokens=2"),
        ("p_admin", steward.id, "tokens=0"),
        ("p_admin", subject.id, "tokens=1"),
    ]
    assert store.verify_audit().ok
    with pytest.raises(NotFoundError):
        store.revoke_api_tokens("p_nobody", actor="p_admin")
    fresh = store.create_api_token(steward.id)  # a new token after revocation works
    assert store.authenticate(fresh) is not None


def test_the_admin_route_revokes_and_the_token_is_refused_at_once(portal: Portal) -> None:
    admin, _ = account(portal, "admin")
    steward, _ = account(portal, "steward")
    with httpx.Client(base_url=portal.url) as http:
        assert http.get(VERIFY, headers=steward.auth).status_code == 200
        refused = http.post(f"/v1/people/{steward.id}/tokens/revoke", headers=steward.auth)
        assert refused.status_code == 403  # only an admin may
        answer = http.post(f"/v1/people/{steward.id}/tokens/revoke", headers=admin.auth)
        assert answer.status_code == 200
        assert answer.json() == {"person_id": steward.id, "revoked": 1}
        after = http.get(VERIFY, headers=steward.auth)
        assert after.status_code == 401 and "revoked" in after.json()["error"]
        missing = http.post("/v1/people/p_nobody/tokens/revoke", headers=admin.auth)
        assert missing.status_code == 404 and missing.json()["error"] == "no such person"
        bad = http.post("/v1/people/p%20x!/tokens/revoke", headers=admin.auth)
        assert bad.status_code == 422
        assert http.get(VERIFY, headers=admin.auth).status_code == 200  # the admin's own works


def test_the_portal_admin_button_revokes_with_a_csrf_token_only(portal: Portal) -> None:
    _, admin_login = account(portal, "admin")
    steward, _ = account(portal, "steward")
    browser = sign_in(portal, admin_login)
    try:
        page = f"/portal/admin/people/{steward.id}"
        html = browser.get(page).text
        assert "Revoke the API tokens of" in html
        forged = browser.post(f"{page}/tokens/revoke", data={"csrf": "forged"})
        assert forged.status_code == 403
        assert httpx.get(portal.url + VERIFY, headers=steward.auth).status_code == 200
        done = browser.post(f"{page}/tokens/revoke", data={"csrf": page_csrf(browser, page)})
        assert done.status_code == 303 and done.headers["location"] == f"{page}?revoked=1"
        assert "Personal API tokens revoked: 1." in browser.get(done.headers["location"]).text
        assert httpx.get(portal.url + VERIFY, headers=steward.auth).status_code == 401
        nobody = browser.post(
            "/portal/admin/people/p_nobody/tokens/revoke", data={"csrf": page_csrf(browser, page)}
        )
        assert nobody.status_code == 404
    finally:
        browser.close()


def test_admin_revoke_token_command(tmp_path: Path) -> None:
    cli = Cli(tmp_path)
    added = cli.store("admin", "add-person", "Sam", "--role", "steward")
    assert added.returncode == 0, added.stderr
    person = re.search(r"person (p_[0-9a-f]+)", added.stdout)
    token = re.search(r"API token .*: (wpa_\S+)", added.stdout)
    assert person and token
    with cli.open() as store:
        assert store.authenticate(token.group(1)) is not None
    result = cli.store("admin", "revoke-token", person.group(1))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"revoked 1 API token(s) of {person.group(1)}"
    with cli.open() as store:
        assert store.authenticate(token.group(1)) is None
        assert any(e.action == "token.revoke" for e in store.audit_entries())
    one_line_error(cli.store("admin", "revoke-token", "p_nobody"), "no person p_nobody")
