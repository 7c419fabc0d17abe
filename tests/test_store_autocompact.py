"""Background compaction of a person's small files, and the debris rule that lets files be
written outside the database lock: exact reads throughout, nothing left behind."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tests.backend_support import embedded_only, referenced_and_stored
from tests.store_support import T0, enrol, moves, open_store, read_all, table
from workprint.store.embedded import EmbeddedStore, autocompact


def wait_for(condition: object, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def files_of(store: EmbeddedStore, person_id: str) -> list[tuple[str, int]]:
    with store._read() as conn:
        rows = conn.execute(
            "SELECT path, rows FROM files WHERE person_id = ? ORDER BY t_min", (person_id,)
        ).fetchall()
    return [(path, n) for path, n in rows]


def event_files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in (root / "events").rglob("*") if p.is_file()}


@pytest.fixture
def small_trigger(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(autocompact, "TRIGGER_ROWS", 100)
    monkeypatch.setattr(autocompact, "GRACE_S", 0.2)


def settled(store: EmbeddedStore) -> bool:
    """Every stored event file is referenced and every referenced one stored."""
    referenced, stored = referenced_and_stored(store)
    return referenced == stored


@pytest.mark.usefixtures("small_trigger")
def test_small_files_are_merged_in_the_background_and_read_the_same(tmp_path: Path) -> None:
    sent = moves(400, t=T0, seq=0)
    with open_store(tmp_path) as store:
        ada, bob = enrol(store, "Ada"), enrol(store, "Bob")
        for i in range(0, 400, 20):
            store.ingest(ada.principal, f"a{i}", table(sent[i : i + 20]))
        store.ingest(bob.principal, "b", table(sent[:30]))  # too few to be worth merging
        wait_for(lambda: len(files_of(store, ada.person_id)) <= 2)
        assert read_all(store, ada.person_id) == sent
        assert sum(rows for _, rows in files_of(store, ada.person_id)) == 400
        assert len(files_of(store, bob.person_id)) == 1
        wait_for(lambda: settled(store))  # merged files are unlinked after a grace period
        assert store.compactor.merged >= 10
    with open_store(tmp_path) as store:
        assert read_all(store, ada.person_id) == sent


@pytest.mark.usefixtures("small_trigger")
def test_a_reader_that_listed_files_before_a_merge_still_reads_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(autocompact, "GRACE_S", 30.0)
    sent = moves(200, t=T0, seq=0)
    with open_store(tmp_path) as store:
        ada = enrol(store)
        for i in range(0, 80, 20):
            store.ingest(ada.principal, f"a{i}", table(sent[i : i + 20]))
        listed = store.read_events(ada.person_id, actor="test")  # file list taken now
        for i in range(80, 200, 20):
            store.ingest(ada.principal, f"a{i}", table(sent[i : i + 20]))
        wait_for(lambda: store.compactor.merged > 0)
        assert sum(part.num_rows for part in listed) == 80
        assert read_all(store, ada.person_id) == sent


@pytest.mark.usefixtures("small_trigger")
def test_erasure_does_not_wait_for_the_grace_period(tmp_path: Path) -> None:
    with open_store(tmp_path) as store:
        ada, bob = enrol(store, "Ada"), enrol(store, "Bob")
        for i in range(0, 200, 20):
            store.ingest(ada.principal, f"a{i}", table(moves(20, t=T0 + i, seq=i)))
        store.ingest(bob.principal, "b", table(moves(5, t=T0, seq=0)))
        wait_for(lambda: store.compactor.merged > 0)
        store.forget(ada.person_id, actor="admin")
        assert referenced_and_stored(store)[1] == {p for p, _ in files_of(store, bob.person_id)}


@embedded_only
def test_an_open_store_keeps_another_opener_from_taking_its_files_for_debris(
    tmp_path: Path,
) -> None:
    first = open_store(tmp_path)
    try:
        ada = enrol(first)
        first.ingest(ada.principal, "a", table(moves(5, t=T0, seq=0)))
        (kept,) = event_files(first.root)
        young = first.root / Path(kept).parent / "0123456789abcdef01234567.parquet.sealed"
        young.write_bytes(b"a file another process is about to commit")
        old = young.with_name("89abcdef0123456789abcdef.parquet.sealed")
        old.write_bytes(b"debris of a crash long ago")
        an_hour_ago = time.time() - 2 * 3600
        os.utime(old, (an_hour_ago, an_hour_ago))
        with open_store(tmp_path) as second:  # not alone: only old debris goes
            assert event_files(second.root) == {kept, young.relative_to(second.root).as_posix()}
    finally:
        first.close()
    with open_store(tmp_path) as alone:  # alone: every unreferenced file goes
        assert event_files(alone.root) == {kept}
        assert len(read_all(alone, ada.person_id)) == 5
