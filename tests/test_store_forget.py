"""Erasure: after ``forget`` nothing of the person is recoverable — not with the master key,
not from any byte of the data directory — and they cannot come back through a device."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from tests.backend_support import embedded_only
from tests.store_support import (
    T0,
    all_bytes,
    enrol,
    metadata,
    moves,
    open_store,
    read_all,
    table,
    typing,
)
from workprint.crypto.aead import DecryptionError, open_sealed
from workprint.store.embedded import files
from workprint.store.interface import BadRow, CredentialError, NotFoundError

TYPED = "meet me at the old mill at nine"
TITLE = "Divorce lawyer - appointment confirmation"
NAME = "Zebedee Quixotic-Farnsworth"


def wrapped_key(root: Path, person_id: str) -> bytes | None:
    with sqlite3.connect(root / "meta.db") as conn:
        row = conn.execute(
            "SELECT wrapped FROM data_keys WHERE person_id = ?", (person_id,)
        ).fetchone()
    return None if row is None else bytes(row[0])


@embedded_only
def test_forget_destroys_key_rows_files_and_credentials(tmp_path: Path) -> None:
    with open_store(tmp_path) as store:
        gone = enrol(store, NAME, device="zebedees-thinkpad")
        stays = enrol(store, "Other Person")
        api = store.create_api_token(gone.person_id)
        sent = typing(TYPED, t=T0, seq=0, title=TITLE)
        store.ingest(
            gone.principal, "b1", table(sent), [BadRow(index=0, reason="x", raw=TITLE.encode())]
        )
        kept = moves(5, t=T0, seq=0)
        store.ingest(stays.principal, "b1", table(kept))
        root = store.root
        key_blob = wrapped_key(root, gone.person_id)
        assert key_blob is not None and key_blob in all_bytes(root)
        before = all_bytes(root)
        assert TYPED.encode() not in before and TITLE.encode() not in before  # only ciphertext
        assert NAME.encode() in before  # the name is metadata, in plaintext until erasure
        stolen = tmp_path / "copy-before-forget"
        shutil.copytree(root / "events", stolen)

        receipt = store.forget(gone.person_id, actor="admin-1")
        assert (receipt.events_deleted, receipt.devices_revoked, receipt.key_destroyed) == (
            len(sent),
            1,
            True,
        )
        # nothing of theirs is left in any file, while the store is still open …
        after = all_bytes(root)
        for needle in (
            key_blob,
            NAME.encode(),
            TITLE.encode(),
            TYPED.encode(),
            b"zebedees-thinkpad",
        ):
            assert needle not in after
        assert wrapped_key(root, gone.person_id) is None
        # … they cannot authenticate, upload or be read, and the erasure is on record
        assert store.authenticate(gone.token) is None and store.authenticate(api) is None
        with pytest.raises(CredentialError, match="erased"):
            store.ingest(gone.principal, "b2", table(moves(1, t=T0, seq=999)))
        assert read_all(store, gone.person_id) == []
        assert store.bad_rows(gone.person_id) == []
        assert store.consent_history(gone.person_id) == []
        person = store.get_person(gone.person_id)
        assert person is not None and person.erased_ns is not None and person.name == ""
        (device,) = store.list_devices(gone.person_id)
        assert device.revoked_ns is not None and device.name == ""
        (entry,) = [e for e in store.audit_entries() if e.action == "person.forget"]
        assert (entry.actor, entry.target) == ("admin-1", gone.person_id)
        assert entry.details == f"events_deleted={len(sent)} devices_revoked=1 key_destroyed=True"
        assert store.verify_audit().ok
        # the other person is untouched
        assert read_all(store, stays.person_id) == kept
        assert store.authenticate(stays.token) is not None
    # … and after closing (WAL folded and truncated)
    after = all_bytes(root)
    for needle in (key_blob, NAME.encode(), TITLE.encode(), TYPED.encode()):
        assert needle not in after
    assert not list((root / "events").rglob(f"*{gone.person_id}*"))
    # A copy of their event files taken before the erasure no longer opens for anyone: the
    # only key that could open it is gone (even the master key holder has nothing to unwrap).
    copied = next(stolen.rglob("*.parquet.sealed"))
    with open_store(tmp_path) as store:
        with sqlite3.connect(root / "meta.db") as conn:
            keys = [bytes(k) for (k,) in conn.execute("SELECT wrapped FROM data_keys")]
        assert len(keys) == 1  # only the other person's key remains
        other_key = store._keys.get(metadata(store), stays.person_id)
    blob = copied.read_bytes()[len(files.MAGIC) :]
    with pytest.raises(DecryptionError):
        open_sealed(other_key, blob, b"anything")


def test_forget_unknown_and_twice(tmp_path: Path) -> None:
    with open_store(tmp_path) as store:
        subject = enrol(store)
        with pytest.raises(NotFoundError):
            store.forget("p_nobody", actor="admin")
        store.forget(subject.person_id, actor="admin")
        again = store.forget(subject.person_id, actor="admin")
        assert (again.events_deleted, again.devices_revoked, again.key_destroyed) == (0, 0, False)
        with pytest.raises(CredentialError):
            store.create_enrollment_code(subject.person_id)


def test_erased_people_stay_listed_as_erased(tmp_path: Path) -> None:
    with open_store(tmp_path) as store:
        a, b = enrol(store, "A"), enrol(store, "B")
        store.forget(a.person_id, actor="admin")
        people = {p.id: p for p in store.list_people()}
        assert people[a.person_id].erased_ns is not None
        assert people[b.person_id].erased_ns is None
