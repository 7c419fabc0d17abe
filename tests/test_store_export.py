"""The data-subject access export: everything about one person, exactly, and nobody else's."""

from __future__ import annotations

import base64
import io
import zipfile
from pathlib import Path

import msgspec
import pytest

from tests.store_support import T0, enrol, moves, open_store, ordered, start, table, typing
from workprint.events import Event, iter_jsonl
from workprint.store.interface import BadRow, ConsentRecord, NotFoundError
from workprint.store.subject_export import export_subject


class Unseekable(io.RawIOBase):
    """An HTTP response body, say: write-only, no seek, no tell."""

    def __init__(self) -> None:
        self.data = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, b: bytes) -> int:  # type: ignore[override]
        self.data += b
        return len(b)


def test_export_round_trip_is_exact(tmp_path: Path) -> None:
    with open_store(tmp_path) as store:
        ada = enrol(store, "Ada")
        bob = enrol(store, "Bob")
        store.record_consent(
            ada.person_id,
            ConsentRecord(t=T0 + 10**12, action="revoke", scopes=("mouse",), policy_version=2),
        )
        sent: list[Event] = [start(T0, 0), *typing("dear diary", t=T0 + 1, seq=1, title="Diary")]
        sent += moves(300, t=T0 + 10**10, seq=len(sent))
        store.ingest(ada.principal, "a1", table(sent[:100]))
        store.ingest(
            ada.principal, "a2", table(sent[100:]), [BadRow(index=3, reason="bad", raw=b"\x00\xff")]
        )
        store.ingest(bob.principal, "b1", table(typing("bob's secret", t=T0, seq=0, title="Bob")))
        sink = Unseekable()
        summary = export_subject(store, ada.person_id, sink, actor=ada.person_id)  # type: ignore[arg-type]
        history = store.consent_history(ada.person_id)
        actions = [e.action for e in store.audit_entries()]
    assert (summary.events, summary.consent_records, summary.bad_rows) == (len(sent), 2, 1)
    assert "subject.export" in actions and "events.read" in actions
    with zipfile.ZipFile(io.BytesIO(bytes(sink.data))) as archive:
        names = set(archive.namelist())
        assert names == {
            "README.txt",
            "person.json",
            "consent.json",
            "events.jsonl",
            "bad_rows.jsonl",
        }
        events = list(iter_jsonl(archive.read("events.jsonl").splitlines()))
        person = msgspec.json.decode(archive.read("person.json"))
        consent = msgspec.json.decode(archive.read("consent.json"), type=list[ConsentRecord])
        bad = [msgspec.json.decode(line) for line in archive.read("bad_rows.jsonl").splitlines()]
        everything = b"".join(archive.read(n) for n in names)
    assert events == ordered(sent)
    assert consent == history
    assert person["person"]["id"] == ada.person_id and person["person"]["name"] == "Ada"
    assert [d["id"] for d in person["devices"]] == [ada.principal.device_id]
    assert bad == [{"index": 3, "reason": "bad", "raw": base64.b64encode(b"\x00\xff").decode()}]
    assert b"bob's secret" not in everything and bob.person_id.encode() not in everything
    assert b"Bob" not in everything


def test_export_of_unknown_person(tmp_path: Path) -> None:
    with open_store(tmp_path) as store, pytest.raises(NotFoundError):
        export_subject(store, "p_nobody", io.BytesIO(), actor="x")
