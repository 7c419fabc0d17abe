"""Encryption at rest: a copy of the whole data directory without the master key reveals no
typed text, title, application or URL — checked by scanning every byte of every file (database,
WAL, shm, event files) while the store is open and after it is closed."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.backend_support import embedded_only
from tests.store_support import T0, all_bytes, enrol, open_store, read_all, table, typing
from workprint.crypto.aead import DecryptionError
from workprint.crypto.envelope import FileMasterKey
from workprint.events import KeyDown, SessionStart, WindowFocus
from workprint.store.embedded import EmbeddedStore
from workprint.store.interface import BadRow, StoreError

TYPED = "correct horse battery staple"
TITLE = "Quarterly layoffs draft - confidential.odt"
URL = "https://intranet.example.org/hr/salaries?q=ada"
APP = "libreoffice-writer-private"


def secrets_in(data: bytes) -> list[str]:
    needles = [TYPED, TITLE, URL, APP, "battery", "layoffs", "intranet", "lab-secret-host"]
    return [n for n in needles if n.encode() in data or n.encode("utf-16-le") in data]


def fill(tmp_path: Path) -> tuple[Path, str]:
    store = open_store(tmp_path)
    subject = enrol(store)
    sent = [
        SessionStart(t=T0, session="s1", seq=0, device="d", host="lab-secret-host"),
        WindowFocus(t=T0 + 1, session="s1", seq=1, app=APP, title=TITLE),
        WindowFocus(t=T0 + 2, session="s1", seq=2, app="firefox", title=URL),
        *typing(TYPED, t=T0 + 3, seq=3, title=TITLE, app=APP),
    ]
    for i in range(0, len(sent), 7):
        store.ingest(subject.principal, f"b{i}", table(sent[i : i + 7]))
    store.ingest(
        subject.principal, "bad", table([]), [BadRow(index=0, reason=TITLE, raw=URL.encode())]
    )
    assert secrets_in(all_bytes(store.root)) == []  # open: WAL and shm included
    store.close()
    return tmp_path / "data", subject.person_id


def test_no_content_in_any_byte_of_the_data_directory(tmp_path: Path) -> None:
    data, _ = fill(tmp_path)
    assert secrets_in(all_bytes(data)) == []
    for path in (data / "events").rglob("*"):
        if path.is_file():
            assert b"PAR1" not in path.read_bytes()[:64], "event files must not be plain Parquet"


def test_the_content_is_there_for_the_master_key_holder(tmp_path: Path) -> None:
    _, person_id = fill(tmp_path)
    with open_store(tmp_path) as store:
        events = read_all(store, person_id)
    assert "".join(e.char or "" for e in events if isinstance(e, KeyDown)) == TYPED
    assert {TITLE, URL} <= {e.title for e in events if isinstance(e, WindowFocus)}
    with open_store(tmp_path) as store:
        (bad,) = store.bad_rows(person_id)
    assert (bad.reason, bad.raw) == (TITLE, URL.encode())


@embedded_only
def test_a_copied_directory_without_the_master_key_is_useless(tmp_path: Path) -> None:
    data, _ = fill(tmp_path)
    copy = tmp_path / "stolen"
    shutil.copytree(data, copy)
    assert secrets_in(all_bytes(copy)) == []

    with pytest.raises(StoreError, match="different master key"):
        EmbeddedStore.open(copy, FileMasterKey(tmp_path / "attacker.key"))


@embedded_only
def test_moved_or_tampered_event_files_do_not_open(tmp_path: Path) -> None:
    data, person_id = fill(tmp_path)
    first, second = sorted((data / "events").rglob("*.parquet.sealed"))[:2]
    original = first.read_bytes()
    first.write_bytes(second.read_bytes())  # a valid file of the same person, wrong place
    with open_store(tmp_path) as store, pytest.raises(DecryptionError):
        read_all(store, person_id)
    tampered = bytearray(original)
    tampered[len(tampered) // 2] ^= 0x01
    first.write_bytes(bytes(tampered))
    with open_store(tmp_path) as store, pytest.raises(DecryptionError):
        read_all(store, person_id)
    first.write_bytes(original)
    with open_store(tmp_path) as store:
        assert len(read_all(store, person_id)) == 4 + 2 * len(TYPED)
