"""Hostile input on every endpoint, over real HTTP, with the real store behind it.

schemathesis derives requests from the collector's own OpenAPI document (valid, invalid, wrong
types, missing and extra fields, odd headers) for every operation and every role; hypothesis
builds hostile batch bodies (random bytes, truncated and wrong-typed msgpack, mixed good and bad
events, oversized events, mismatched encodings). Whatever arrives: never a 5xx, never a crash,
and a batch refused as a whole leaves no trace in the store.
"""

from __future__ import annotations

import gzip
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
import schemathesis
import zstandard
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from tests.collector_support import (
    Person,
    ServerThread,
    add_person,
    batch_headers,
    grant_all,
    open_store,
    sample_events,
)
from workprint.collector import CollectorSettings
from workprint.spool.wire import ARROW_CONTENT_TYPE, BATCH_CONTENT_TYPE
from workprint.store.interface import ROLES

LIMITS = CollectorSettings(max_batch_events=200, max_event_bytes=2048, max_body_bytes=256 << 10)


@schemathesis.serializer(BATCH_CONTENT_TYPE, ARROW_CONTENT_TYPE)
def _raw_body(ctx: Any, value: Any) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode()


class Api:
    def __init__(self, tmp: Path) -> None:
        self.store = open_store(tmp / "store")
        self.server = ServerThread(self.store, LIMITS)
        self.http = httpx.Client(base_url=self.server.url, timeout=30)
        self.people = {role: add_person(self.store, role) for role in ROLES}
        grant_all(self.http, self.people["subject"])

    def close(self) -> None:
        self.http.close()
        self.server.stop()
        self.store.close()

    def footprint(self, person: Person) -> tuple[int, int]:
        """(events, bad rows) stored for ``person``."""
        events = sum(t.num_rows for t in self.store.read_events(person.id, actor="fuzz"))
        return events, len(self.store.bad_rows(person.id))


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    api = Api(tmp_path_factory.mktemp("fuzz"))
    yield api
    api.close()


def test_every_endpoint_every_role_never_5xx(api: Api) -> None:
    """Positive and negative cases of every operation in the OpenAPI document, each sent with
    every role's credential and with none."""
    schema = schemathesis.openapi.from_url(api.server.url + "/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    documented = json.loads((Path(__file__).parent.parent / "docs" / "openapi.json").read_text())
    expected = sum(
        method in ("get", "post", "put", "patch", "delete")
        for item in documented["paths"].values()
        for method in item
    )
    assert len(operations) == expected >= 13, [op.label for op in operations]
    for operation in operations:
        modes = [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]
        strategy = st.one_of(*(operation.as_strategy(generation_mode=m) for m in modes))

        @given(strategy)
        @settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
        def run(case: Any) -> None:
            for role in (*ROLES, None):
                person = api.people[role] if role else None
                if case.method == "DELETE" and role:  # erasure is real: bring someone to erase
                    person = add_person(api.store, role)
                headers = {"Authorization": f"Bearer {person.token}"} if person else {}
                response = case.call(headers=headers)
                where = (role, case.method, case.formatted_path, response.content[:300])
                assert response.status_code < 500, where
                if response.status_code >= 400:
                    error = response.json().get("error")
                    assert isinstance(error, str) and error, where

        run()


# -- hostile batches ----------------------------------------------------------------------

_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**64 - 1),
    st.floats(allow_nan=True),
    st.text(max_size=40),
    st.binary(max_size=40),
)
_values = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
_fields = st.sampled_from(
    [
        "type",
        "t",
        "session",
        "seq",
        "x",
        "y",
        "cls",
        "key",
        "char",
        "mods",
        "app",
        "title",
        "device",
    ]
)
_event_like = st.dictionaries(_fields, _values, max_size=8)


@st.composite
def hostile_elements(draw: st.DrawFn) -> list[Any]:
    """A mix of valid events, near-events with wrong types and random msgpack values."""
    good = [msgspec.Raw(msgspec.msgpack.encode(e)) for e in sample_events(draw(st.integers(0, 8)))]
    bad = draw(st.lists(st.one_of(_event_like, _values), max_size=8))
    huge = draw(st.booleans())
    items: list[Any] = [*good, *bad]
    if huge:
        items.append({"type": "window_focus", "t": 1, "session": "s", "app": "x" * 5000})
    return draw(st.permutations(items))


@st.composite
def hostile_bodies(draw: st.DrawFn) -> tuple[bytes, dict[str, str]]:
    kind = draw(st.sampled_from(["elements", "random", "truncated", "scalar"]))
    if kind == "random":
        raw = draw(st.binary(max_size=300))
    elif kind == "scalar":
        raw = msgspec.msgpack.encode(draw(_values))
    else:
        raw = msgspec.msgpack.encode(draw(hostile_elements()))
        if kind == "truncated" and raw:
            raw = raw[: draw(st.integers(0, len(raw) - 1))]
    encoding = draw(st.sampled_from(["zstd", "gzip", "identity", "zstd-lie", "deflate"]))
    if encoding == "zstd":
        body = zstandard.ZstdCompressor().compress(raw)
    elif encoding == "gzip":
        body = gzip.compress(raw)
    else:
        body = raw
    content_type = draw(st.sampled_from([BATCH_CONTENT_TYPE, BATCH_CONTENT_TYPE, "text/plain"]))
    printable = st.characters(min_codepoint=0x21, max_codepoint=0x7E)
    batch_id = draw(st.one_of(st.just(uuid.uuid4().hex), st.text(printable, max_size=80)))
    return body, {
        "Content-Type": content_type,
        "Content-Encoding": encoding.removesuffix("-lie"),
        "X-Workprint-Batch-Id": batch_id or "-",
    }


def test_hostile_batches_never_5xx_and_leave_nothing_when_refused(api: Api) -> None:
    subject = api.people["subject"]

    @given(hostile_bodies())
    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    def run(body_and_headers: tuple[bytes, dict[str, str]]) -> None:
        body, headers = body_and_headers
        before = api.footprint(subject)
        headers = {**batch_headers(subject), **headers}
        response = api.http.post("/v1/batches", content=body, headers=headers)
        assert response.status_code < 500, response.text
        after = api.footprint(subject)
        if response.status_code == 200:
            result = response.json()
            new_events = after[0] - before[0]
            assert new_events == result["accepted"]
            assert after[1] - before[1] == len(result["bad_rows"]) or result["bad_rows_truncated"]
        else:
            assert isinstance(response.json()["error"], str)
            assert after == before, "a refused batch must not be written in part"

    run()
