"""Nobody reads a colleague (DESIGN.md principle 4), endpoint by endpoint, over real HTTP with the
real store: person A's credentials cannot read, write or delete person B's data; a researcher
reads no raw events; an admin reads no content."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.collector_support import (
    Person,
    ServerThread,
    add_person,
    batch_headers,
    encoded,
    grant_all,
    open_store,
    sample_events,
)
from workprint.events import Event, iter_jsonl
from workprint.store.interface import Store


@dataclass
class World:
    store: Store
    client: httpx.Client
    a: Person
    b: Person
    b_events: list[Event]

    def events_of(self, person: Person) -> list[object]:
        response = self.client.get("/v1/me/events", headers=person.auth)
        assert response.status_code == 200, response.text
        return list(iter_jsonl(response.content.splitlines()))


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    store = open_store(tmp_path / "store")
    server = ServerThread(store)
    client = httpx.Client(base_url=server.url, timeout=30)
    a, b = add_person(store, "subject", "A"), add_person(store, "subject", "B")
    for person in (a, b):
        grant_all(client, person)
    b_events = sample_events(40, device=b.device_name)
    response = client.post("/v1/batches", content=encoded(b_events), headers=batch_headers(b))
    assert response.json()["accepted"] == 40
    yield World(store, client, a, b, b_events)
    client.close()
    server.stop()
    store.close()


def test_batches_a_cannot_write_as_b(world: World) -> None:
    # A claims B's device in a session_start: the whole batch is refused
    forged = sample_events(10, device=world.b.device_name)
    response = world.client.post(
        "/v1/batches", content=encoded(forged), headers=batch_headers(world.a)
    )
    assert response.status_code == 422 and "not the device" in response.json()["error"]
    # A's own events with B's seq numbers are A's (dedup is per device), B's stay as they were
    mine = sample_events(40, device=world.a.device_name)
    response = world.client.post(
        "/v1/batches", content=encoded(mine), headers=batch_headers(world.a)
    )
    assert response.json()["accepted"] == 40 and response.json()["duplicates"] == 0
    assert world.events_of(world.b) == world.b_events
    assert world.events_of(world.a) == mine
    # the same batch id as B's earlier batch is no replay of B's batch either
    response = world.client.post(
        "/v1/batches",
        content=encoded(sample_events(3, start_seq=100)),
        headers=batch_headers(world.a, "shared-id"),
    )
    b_response = world.client.post(
        "/v1/batches",
        content=encoded(sample_events(3, start_seq=100)),
        headers=batch_headers(world.b, "shared-id"),
    )
    assert response.json()["accepted"] == 3 and b_response.json()["accepted"] == 3


def test_consent_a_cannot_change_bs_consent(world: World) -> None:
    before = world.store.consent_history(world.b.id)
    revoke = {"t": 2, "action": "revoke", "scopes": ["mouse"], "policy_version": 1}
    response = world.client.post("/v1/consent", json={"history": [revoke]}, headers=world.a.auth)
    assert response.status_code == 200
    assert world.store.consent_history(world.b.id) == before
    assert world.store.consent_history(world.a.id)[-1].action == "revoke"


def test_me_is_always_the_caller(world: World) -> None:
    me = world.client.get("/v1/me", headers=world.a.auth).json()
    assert me["person"]["id"] == world.a.id
    assert [d["id"] for d in me["person"]["devices"]] == [world.a.device_id]


def test_me_events_a_never_sees_bs_events(world: World) -> None:
    assert world.events_of(world.a) == []
    response = world.client.get(
        "/v1/me/events", params={"person_id": world.b.id}, headers=world.a.auth
    )
    assert response.status_code == 200 and response.content == b""  # no way to name B


def test_me_export_holds_only_the_callers_data(world: World) -> None:
    response = world.client.get("/v1/me/export", headers=world.a.auth)
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert archive.read("events.jsonl") == b""
    assert world.b.id not in archive.read("person.json").decode()


def test_delete_me_a_erases_only_a(world: World) -> None:
    response = world.client.delete("/v1/me", params={"confirm": "true"}, headers=world.a.auth)
    assert response.status_code == 200 and response.json()["person_id"] == world.a.id
    assert world.events_of(world.b) == world.b_events


def test_revoke_a_cannot_revoke_bs_device(world: World) -> None:
    response = world.client.post(f"/v1/devices/{world.b.device_id}/revoke", headers=world.a.auth)
    assert response.status_code == 404  # the same answer as for a device that does not exist
    assert world.client.get("/v1/me", headers=world.b.auth).status_code == 200
    own = world.client.post(f"/v1/devices/{world.a.device_id}/revoke", headers=world.a.auth)
    assert own.status_code == 200
    assert world.client.get("/v1/me", headers=world.a.auth).status_code == 401


def test_people_and_audit_are_not_for_subjects(world: World) -> None:
    assert world.client.get("/v1/people", headers=world.a.auth).status_code == 403
    assert world.client.get("/v1/audit/verify", headers=world.a.auth).status_code == 403


def test_a_researcher_reads_no_raw_events(world: World) -> None:
    researcher = add_person(world.store, "researcher")
    c, auth = world.client, researcher.auth
    for response in (
        c.get("/v1/me/events", headers=auth),
        c.get("/v1/me/export", headers=auth),
        c.get("/v1/people", headers=auth),
        c.get("/v1/audit/verify", headers=auth),
        c.post("/v1/batches", content=encoded(sample_events(2)), headers=batch_headers(researcher)),
        c.post("/v1/consent", json={"history": []}, headers=auth),
        c.post(f"/v1/devices/{world.b.device_id}/revoke", headers=auth),
        c.delete("/v1/me", params={"confirm": "true"}, headers=auth),
    ):
        assert response.status_code == 403, (response.request.url, response.text)
        assert "role" in response.json()["error"]


def test_an_admin_operates_but_reads_no_content(world: World) -> None:
    admin = add_person(world.store, "admin")
    c, auth = world.client, admin.auth
    assert c.get("/v1/me/events", headers=auth).status_code == 403
    assert c.get("/v1/me/export", headers=auth).status_code == 403
    people = c.get("/v1/people", headers=auth)
    assert people.status_code == 200
    text = people.text
    for event in world.b_events:  # no typed text, titles or apps anywhere in the answer
        for value in (getattr(event, "char", None), getattr(event, "title", None)):
            if value:
                assert f'"{value}"' not in text
    assert "xterm" not in text
    assert c.get("/v1/audit/verify", headers=auth).status_code == 200
