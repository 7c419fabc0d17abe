"""The data-subject access export: everything the store holds about one person, in one zip.

Contents (docs/store.md): ``person.json`` (the person and their devices), ``consent.json`` (the
server's consent history), ``events.jsonl`` (every stored event in the documented JSON Lines
form, docs/events.md, in (t, seq) order), ``bad_rows.jsonl`` (events kept aside, with reason
and the raw bytes in base64) and a ``README.txt``. It works over any ``Store`` and writes to any
binary stream (a file, an HTTP response): nothing is held in memory beyond one table of events.
Who may ask for whose export is the caller's decision; the store audits the reads.
"""

from __future__ import annotations

import base64
import zipfile
from typing import BinaryIO, Final

import msgspec

from workprint.events import encode_jsonl
from workprint.events.columnar import table_to_events
from workprint.store.interface import NotFoundError, Store

FORMAT: Final = 1
README: Final = """\
workprint data-subject access export (format {format})

person.json     who you are in this store, your role and your enrolled devices
consent.json    every grant and revocation of consent the server recorded, in time order
events.jsonl    every event stored about you, one JSON object per line, in time order;
                the fields are described in workprint's docs/events.md
bad_rows.jsonl  events your devices sent that could not be stored, with the reason
                (raw: the bytes received, base64)
"""


class SubjectExport(msgspec.Struct, frozen=True, kw_only=True):
    person_id: str
    events: int
    consent_records: int
    bad_rows: int


def export_subject(store: Store, person_id: str, out: BinaryIO, *, actor: str) -> SubjectExport:
    """Write the zip for ``person_id`` to ``out`` (which need not be seekable)."""
    person = store.get_person(person_id)
    if person is None:
        raise NotFoundError(f"no person {person_id}")
    store.audit(actor, "subject.export", person_id)
    devices = store.list_devices(person_id)
    history = store.consent_history(person_id)
    bad = store.bad_rows(person_id, actor=actor)
    events = 0
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("README.txt", README.format(format=FORMAT))
        archive.writestr(
            "person.json",
            msgspec.json.format(
                msgspec.json.encode({"format": FORMAT, "person": person, "devices": devices})
            ),
        )
        archive.writestr("consent.json", msgspec.json.format(msgspec.json.encode(history)))
        with archive.open("events.jsonl", "w", force_zip64=True) as sink:
            for table in store.read_events(person_id, actor=actor):
                chunk = table_to_events(table)
                sink.write(encode_jsonl(chunk))
                events += len(chunk)
        archive.writestr(
            "bad_rows.jsonl",
            b"".join(
                msgspec.json.encode(
                    {
                        "index": row.index,
                        "reason": row.reason,
                        "raw": base64.b64encode(row.raw).decode(),
                    }
                )
                + b"\n"
                for row in bad
            ),
        )
    return SubjectExport(
        person_id=person_id, events=events, consent_records=len(history), bad_rows=len(bad)
    )
