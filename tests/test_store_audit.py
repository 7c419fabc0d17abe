"""The audit log detects any edit, deletion, truncation or rewrite of its entries and names the
first bad one — the attacker edits the SQLite file directly, with everything but the master key."""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.backend_support import embedded_only
from tests.store_support import enrol, open_store, read_all
from workprint.store.embedded.audit import canonical, chain_hash


def build(tmp_path: Path) -> Path:
    with open_store(tmp_path) as store:
        subject = enrol(store)  # person.add, code, enroll, consent: 4 entries
        read_all(store, subject.person_id)
        for i in range(5):
            store.audit(f"admin-{i}", "policy.update", "policy", f"version={i}")
        assert store.verify_audit().ok
        return store.root


def edit(root: Path, *statements: str) -> None:
    with sqlite3.connect(root / "meta.db") as conn:
        for statement in statements:
            conn.execute(statement)


def rewrite_chain_from(root: Path, first: int) -> None:
    """What an attacker without the master key can do: recompute every hash from ``first``."""
    with sqlite3.connect(root / "meta.db") as conn:
        rows = conn.execute(
            "SELECT id, t, actor, action, target, details FROM audit WHERE id >= ? ORDER BY id",
            (first,),
        ).fetchall()
        (prev,) = conn.execute("SELECT hash FROM audit WHERE id = ?", (first - 1,)).fetchone()
        for entry_id, t, actor, action, target, details in rows:
            digest = chain_hash(prev, canonical(entry_id, t, actor, action, target, details))
            conn.execute(
                "UPDATE audit SET prev_hash = ?, hash = ? WHERE id = ?", (prev, digest, entry_id)
            )
            prev = digest
        conn.execute("UPDATE meta SET audit_head_hash = ?", (prev,))


def edit_and_rewrite(root: Path, entry_id: int) -> None:
    edit(root, f"UPDATE audit SET details = 'version=9' WHERE id = {entry_id}")
    rewrite_chain_from(root, entry_id)


CASES: dict[str, tuple[Callable[[Path], None], int | None, str]] = {
    "edit details": (
        lambda r: edit(r, "UPDATE audit SET details = 'version=9' WHERE id = 7"),
        7,
        "entry 7 was altered",
    ),
    "edit actor": (
        lambda r: edit(r, "UPDATE audit SET actor = 'someone-else' WHERE id = 2"),
        2,
        "entry 2 was altered",
    ),
    "delete one": (lambda r: edit(r, "DELETE FROM audit WHERE id = 5"), 5, "entry 5 is missing"),
    "delete first": (lambda r: edit(r, "DELETE FROM audit WHERE id = 1"), 1, "entry 1 is missing"),
    "delete last": (
        lambda r: edit(r, "DELETE FROM audit WHERE id = 10"),
        10,
        "entries 10..10 were removed",
    ),
    "truncate and fix the head id": (
        lambda r: edit(
            r,
            "DELETE FROM audit WHERE id >= 8",
            "UPDATE meta SET audit_head_id = 7",
        ),
        None,
        "head record was altered",
    ),
    "edit and recompute the chain": (
        lambda r: edit_and_rewrite(r, 6),
        6,
        "entry 6 was rewritten",
    ),
    "edit the hash only": (
        lambda r: edit(
            r, "UPDATE audit SET hash = replace(hash, substr(hash, 1, 1), 'f') WHERE id = 3"
        ),
        3,
        "entry 3",
    ),
}


@embedded_only
@pytest.mark.parametrize("case", list(CASES))
def test_tampering_is_detected_and_named(tmp_path: Path, case: str) -> None:
    tamper, first_bad, reason = CASES[case]
    root = build(tmp_path)
    tamper(root)
    with open_store(tmp_path) as store:
        verdict = store.verify_audit()
    assert not verdict.ok
    assert verdict.first_bad_id == first_bad
    assert reason in verdict.reason


def test_intact_log_verifies_and_chains(tmp_path: Path) -> None:
    build(tmp_path)
    with open_store(tmp_path) as store:
        entries = store.audit_entries()
        verdict = store.verify_audit()
    assert verdict.ok and verdict.entries == len(entries) == 10
    assert [e.id for e in entries] == list(range(1, 11))
    assert entries[0].prev_hash == "0" * 64
    for before, after in itertools.pairwise(entries):
        assert after.prev_hash == before.hash
    assert entries[4].action == "events.read"  # reading raw data is on record
