"""The collector over real HTTP on 127.0.0.1 with the real store: enrollment, idempotent ingest
with per-batch results and bad rows, consent enforced again, limits, own-data access."""

from __future__ import annotations

import io
import json
import threading
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import msgspec
import pytest

from tests.collector_support import (
    ServerThread,
    add_person,
    batch_headers,
    encoded,
    grant_all,
    open_store,
    sample_events,
)
from workprint.collector import CollectorSettings
from workprint.events import Event, MouseMove, iter_jsonl
from workprint.store.interface import Store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    store = open_store(tmp_path / "store")
    yield store
    store.close()


@pytest.fixture
def server(store: Store) -> Iterator[ServerThread]:
    server = ServerThread(store, CollectorSettings(max_batch_events=2000))
    yield server
    server.stop()


@pytest.fixture
def client(server: ServerThread) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        yield client


def my_events(client: httpx.Client, auth: dict[str, str]) -> list[Event]:
    response = client.get("/v1/me/events", headers=auth)
    assert response.status_code == 200, response.text
    items = list(iter_jsonl(response.content.splitlines()))
    assert all(isinstance(e, Event.__args__) for e in items)  # type: ignore[attr-defined]
    return items  # type: ignore[return-value]


def test_enroll_with_a_one_time_code_then_upload(store: Store, client: httpx.Client) -> None:
    person = store.add_person("ada", "subject")
    code = store.create_enrollment_code(person.id)
    response = client.post("/v1/enroll", json={"code": code, "device_name": "laptop"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["person_id"] == person.id and body["token"]
    again = client.post("/v1/enroll", json={"code": code, "device_name": "laptop"})
    assert again.status_code == 403 and "error" in again.json()  # a code works once
    auth = {"Authorization": f"Bearer {body['token']}"}
    me = client.get("/v1/me", headers=auth).json()
    assert me["person"]["id"] == person.id and me["device_id"] == body["device_id"]
    assert [d["name"] for d in me["person"]["devices"]] == ["laptop"]


def test_retried_batches_are_stored_exactly_once(store: Store, client: httpx.Client) -> None:
    ada = add_person(store, "subject")
    grant_all(client, ada)
    events = sample_events(500, device=ada.device_name)
    headers = batch_headers(ada, "batch-1")
    first = client.post("/v1/batches", content=encoded(events), headers=headers).json()
    assert first == {
        "batch_id": "batch-1",
        "accepted": 500,
        "duplicates": 0,
        "rejected": 0,
        "rejected_consent": 0,
        "replayed": False,
        "bad_rows": [],
        "bad_rows_truncated": False,
    }
    replay = client.post("/v1/batches", content=encoded(events), headers=headers).json()
    assert replay["replayed"] is True and replay["accepted"] == 0
    # the same events under a new batch id (a re-spooled import): duplicates by (device, seq)
    overlap = events[250:] + sample_events(100, start_seq=500)
    third = client.post("/v1/batches", content=encoded(overlap), headers=batch_headers(ada))
    assert third.json()["accepted"] == 100 and third.json()["duplicates"] == 250
    stored = my_events(client, ada.auth)
    assert sorted(e.seq for e in stored) == list(range(600))
    assert stored[:500] == events


def test_concurrent_retries_of_one_batch_store_it_once(store: Store, client: httpx.Client) -> None:
    ada = add_person(store, "subject")
    grant_all(client, ada)
    body = encoded(sample_events(300))
    headers = batch_headers(ada, "same-batch")
    results: list[dict[str, object]] = []

    def send() -> None:
        with httpx.Client(base_url=client.base_url, timeout=30) as own:
            response = own.post("/v1/batches", content=body, headers=headers)
            if response.status_code == 200:
                results.append(response.json())

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(int(r["accepted"]) for r in results) == 300  # type: ignore[call-overload]
    assert len(my_events(client, ada.auth)) == 300


def test_bad_events_are_kept_as_bad_rows_and_the_rest_stored(
    store: Store, client: httpx.Client
) -> None:
    ada = add_person(store, "subject")
    grant_all(client, ada)
    good = sample_events(5)
    elements: list[object] = [msgspec.Raw(msgspec.msgpack.encode(e)) for e in good]
    elements.insert(2, {"type": "mouse_move", "t": "yesterday", "session": "s", "x": 1, "y": 2})
    import zstandard

    body = zstandard.ZstdCompressor().compress(msgspec.msgpack.encode(elements))
    result = client.post("/v1/batches", content=body, headers=batch_headers(ada)).json()
    assert result["accepted"] == 5 and result["rejected"] == 1
    assert result["bad_rows"][0]["index"] == 2 and "$.t" in result["bad_rows"][0]["reason"]
    assert my_events(client, ada.auth) == good
    bad = store.bad_rows(ada.id)
    assert len(bad) == 1 and "$.t" in bad[0].reason and b"yesterday" in bad[0].raw


def test_consent_is_enforced_again_on_the_server(store: Store, client: httpx.Client) -> None:
    ada = add_person(store, "subject")
    events = sample_events(20)
    t0 = events[0].t
    only_mouse = {"t": t0 - 1, "action": "grant", "scopes": ["mouse"], "policy_version": 1}
    sent = client.post("/v1/consent", json={"history": [only_mouse]}, headers=ada.auth)
    assert sent.json() == {"recorded": 1, "known": 0}
    again = client.post("/v1/consent", json={"history": [only_mouse]}, headers=ada.auth)
    assert again.json() == {"recorded": 0, "known": 1}  # idempotent
    result = client.post("/v1/batches", content=encoded(events), headers=batch_headers(ada))
    mouse = [e for e in events if isinstance(e, MouseMove)]
    assert result.json()["accepted"] == len(mouse)
    assert result.json()["rejected_consent"] == len(events) - len(mouse)
    assert my_events(client, ada.auth) == mouse


def test_limits_are_clear_refusals(store: Store, server: ServerThread) -> None:
    ada = add_person(store, "subject")
    with httpx.Client(base_url=server.url, timeout=30) as client:
        too_many = encoded(sample_events(2001))
        response = client.post("/v1/batches", content=too_many, headers=batch_headers(ada))
        assert response.status_code == 413 and "2001 events" in response.json()["error"]
        huge = b"\0" * (17 << 20)
        response = client.post("/v1/batches", content=huge, headers=batch_headers(ada))
        assert response.status_code == 413 and "limit" in response.json()["error"]
        big_json = {"history": [], "pad": "x" * (2 << 20)}
        response = client.post("/v1/consent", json=big_json, headers=ada.auth)
        assert response.status_code == 413
        response = client.post("/v1/consent", content=b"{", headers=ada.auth)
        assert response.status_code == 422 and "error" in response.json()


def test_a_busy_collector_answers_429_with_retry_after(store: Store) -> None:
    ada = add_person(store, "subject")
    server = ServerThread(store, CollectorSettings(max_inflight_batches=0, retry_after_s=7))
    try:
        response = httpx.post(
            server.url + "/v1/batches",
            content=encoded(sample_events(3)),
            headers=batch_headers(ada),
        )
        assert response.status_code == 429
        assert response.headers["retry-after"] == "7" and "retry" in response.json()["error"]
    finally:
        server.stop()


def test_a_subject_exports_and_erases_their_own_data(store: Store, client: httpx.Client) -> None:
    ada = add_person(store, "subject")
    grant_all(client, ada)
    events = sample_events(50)
    client.post("/v1/batches", content=encoded(events), headers=batch_headers(ada))
    export = client.get("/v1/me/export", headers=ada.auth)
    assert export.status_code == 200 and export.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(export.content))
    assert set(archive.namelist()) >= {"person.json", "consent.json", "events.jsonl"}
    lines = archive.read("events.jsonl").splitlines()
    assert list(iter_jsonl(lines)) == events
    assert json.loads(archive.read("consent.json"))[0]["action"] == "grant"
    assert client.delete("/v1/me", headers=ada.auth).status_code == 422  # needs confirm=true
    erased = client.delete("/v1/me", params={"confirm": "true"}, headers=ada.auth)
    assert erased.status_code == 200 and erased.json()["events_deleted"] == 50
    assert client.get("/v1/me/events", headers=ada.auth).status_code == 401


def test_revoked_device_tokens_stop_working_at_once(store: Store, client: httpx.Client) -> None:
    ada = add_person(store, "subject")
    admin = add_person(store, "admin")
    assert client.get("/v1/me", headers=ada.auth).status_code == 200
    revoked = client.post(f"/v1/devices/{ada.device_id}/revoke", headers=admin.auth)
    assert revoked.status_code == 200 and revoked.json()["revoked"] is True
    response = client.post(
        "/v1/batches", content=encoded(sample_events(3)), headers=batch_headers(ada)
    )
    assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"


def test_a_device_revoked_right_after_an_upload_writes_nothing_more(
    store: Store, client: httpx.Client
) -> None:
    """The next batch after a revocation is refused whole, and nothing of it is stored."""
    ada = add_person(store, "subject")
    admin = add_person(store, "admin")
    grant_all(client, ada)
    first = client.post(
        "/v1/batches", content=encoded(sample_events(3)), headers=batch_headers(ada)
    )
    assert first.status_code == 200 and first.json()["accepted"] == 3
    revoked = client.post(f"/v1/devices/{ada.device_id}/revoke", headers=admin.auth)
    assert revoked.status_code == 200
    later = sample_events(4, start_seq=3)
    second = client.post("/v1/batches", content=encoded(later), headers=batch_headers(ada))
    assert second.status_code == 401, second.text
    assert sum(t.num_rows for t in store.read_events(ada.id, actor="test")) == 3


def test_admin_lists_people_without_content_and_stewards_verify_audit(
    store: Store, client: httpx.Client
) -> None:
    ada = add_person(store, "subject", "Ada")
    admin = add_person(store, "admin")
    steward = add_person(store, "steward")
    people = client.get("/v1/people", headers=admin.auth)
    assert people.status_code == 200
    entry = next(p for p in people.json() if p["id"] == ada.id)
    assert entry["name"] == "Ada" and entry["role"] == "subject"
    assert [d["id"] for d in entry["devices"]] == [ada.device_id]
    assert set(entry) == {"id", "name", "role", "created_ns", "erased_ns", "devices"}
    verdict = client.get("/v1/audit/verify", headers=steward.auth)
    assert verdict.status_code == 200 and verdict.json()["ok"] is True


def test_unauthenticated_and_malformed_credentials_are_401(client: httpx.Client) -> None:
    for headers in ({}, {"Authorization": "Bearer " + "x" * 600}, {"Authorization": "Basic a"}):
        response = client.get("/v1/me", headers=headers)
        assert response.status_code == 401, headers
        assert "credential" in response.json()["error"]
    response = client.get("/v1/me", headers={"Authorization": f"Bearer {uuid.uuid4().hex}"})
    assert response.status_code == 401
