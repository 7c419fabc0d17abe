"""docs/openapi.json is the collector's API as served; it must never go stale."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from tests.collector_support import ServerThread, open_store
from workprint.collector.openapi import DEFAULT_PATH, openapi_document, render


def test_docs_openapi_json_is_current() -> None:
    assert DEFAULT_PATH.read_text(encoding="utf-8") == render(), (
        "docs/openapi.json is stale: run `python -m workprint.collector.openapi`"
    )


def test_the_served_document_is_the_committed_one_and_covers_every_route(tmp_path: Path) -> None:
    store = open_store(tmp_path / "store")
    try:
        with ServerThread(store) as server:
            served = httpx.get(server.url + "/openapi.json").json()
    finally:
        store.close()
    assert served == json.loads(DEFAULT_PATH.read_text(encoding="utf-8"))
    paths = openapi_document()["paths"]
    assert set(paths) == {
        "/healthz",
        "/v1/enroll",
        "/v1/batches",
        "/v1/consent",
        "/v1/device/heartbeat",
        "/v1/me",
        "/v1/me/events",
        "/v1/me/export",
        "/v1/people",
        "/v1/devices/{device_id}/revoke",
        "/v1/people/{person_id}/tokens/revoke",
        "/v1/audit/verify",
    }
    open_routes = {("/healthz", "get"), ("/v1/enroll", "post")}
    for path, operations in paths.items():
        for method, operation in operations.items():
            if (path, method) not in open_routes:
                assert operation.get("security") == [{"HTTPBearer": []}], (path, method)
                assert "401" in operation["responses"], (path, method)
