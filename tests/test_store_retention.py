"""Retention (whole days deleted, the boundary day rewritten) and compaction (a day's batch
files merged), both exact about what they keep."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.backend_support import embedded_only
from tests.store_support import DAY_NS, T0, enrol, moves, open_store, read_all, table
from workprint.events import Event
from workprint.store.interface import BadRow, StoreError


def day_dirs(root: Path) -> list[str]:
    return sorted(p.name for p in (root / "events").iterdir())


def spread(days: int, per_day: int) -> list[Event]:
    """``per_day`` events at the start of each of ``days`` consecutive days, seqs in order."""
    base = (T0 // DAY_NS) * DAY_NS
    out: list[Event] = []
    for d in range(days):
        out += moves(per_day, t=base + d * DAY_NS + 3600 * 10**9, seq=d * per_day)
    return out


@embedded_only
def test_retention_drops_old_days_and_rewrites_the_boundary(tmp_path: Path) -> None:
    sent = spread(5, 10)
    with open_store(tmp_path) as store:
        subject = enrol(store)
        for d in range(5):
            store.ingest(subject.principal, f"b{d}", table(sent[d * 10 : d * 10 + 10]))
        assert len(day_dirs(store.root)) == 5
        cutoff = sent[25].t  # in the middle of day 2
        now = cutoff + int(3 * DAY_NS)
        result = store.apply_retention(now, 3, actor="policy")
        assert (result.events_deleted, result.files_rewritten) == (25, 1)
        assert read_all(store, subject.person_id) == sent[25:]
        assert len(day_dirs(store.root)) == 3
        (entry,) = [e for e in store.audit_entries() if e.action == "retention.apply"]
        assert entry.actor == "policy"
        assert "events_deleted=25" in entry.details
        # events deleted by retention do not come back when a device re-sends them
        again = store.ingest(subject.principal, "resend", table(sent[:10]))
        assert (again.accepted, again.duplicates) == (0, 10)
        nothing = store.apply_retention(now, 3)
        assert (nothing.events_deleted, nothing.files_rewritten) == (0, 0)


def test_retention_forgets_old_bad_rows_and_refuses_nonsense(tmp_path: Path) -> None:
    with open_store(tmp_path) as store:
        subject = enrol(store)
        store.ingest(subject.principal, "b", table([]), [BadRow(index=0, reason="r", raw=b"x")])
        store.apply_retention(time.time_ns() + 2 * DAY_NS, 1)
        assert store.bad_rows(subject.person_id) == []
        with pytest.raises(StoreError, match="positive"):
            store.apply_retention(time.time_ns(), 0)


def test_compaction_merges_a_days_files_exactly(tmp_path: Path) -> None:
    sent = moves(1000, t=T0, seq=0)
    with open_store(tmp_path) as store:
        a = enrol(store, "A")
        b = enrol(store, "B")
        for i in range(0, 1000, 100):
            store.ingest(a.principal, f"a{i}", table(sent[i : i + 100]))
        store.ingest(b.principal, "b0", table(sent[:10]))
        before = store.stats()
        (day,) = store.days()
        assert store.compact(day) == 10  # B's single file is left alone
        after = store.stats()
        assert (before.files, after.files) == (11, 2)
        assert after.events == before.events and after.event_bytes < before.event_bytes
        assert read_all(store, a.person_id) == sent
        assert read_all(store, b.person_id) == sent[:10]
        assert store.compact(day) == 0
        with pytest.raises(StoreError, match="not a day"):
            store.compact("yesterday")
