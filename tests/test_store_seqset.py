"""The (device, seq) de-duplication state: merged intervals behave exactly like the set of every
stored seq, and stay minimal (no two intervals overlap or touch)."""

from __future__ import annotations

import itertools
import sqlite3

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from workprint.store.embedded import seqset

DDL = "CREATE TABLE seq_ranges (source TEXT, lo INTEGER, hi INTEGER, PRIMARY KEY (source, lo))"


def intervals(conn: sqlite3.Connection, source: str) -> list[tuple[int, int]]:
    rows = conn.execute(
        "SELECT lo, hi FROM seq_ranges WHERE source = ? ORDER BY lo", (source,)
    ).fetchall()
    return [(int(a), int(b)) for a, b in rows]


batches = st.lists(
    st.lists(st.integers(0, 300), max_size=40).map(lambda xs: np.array(xs, dtype=np.int64)),
    max_size=25,
)


@settings(max_examples=300, deadline=None)
@given(batches)
def test_intervals_are_the_set_of_stored_seqs(seq_batches: list[np.ndarray]) -> None:
    conn = sqlite3.connect(":memory:")
    conn.execute(DDL)
    model: set[int] = set()
    for seqs in seq_batches:
        near = seqset.nearby(conn, "d", int(seqs.min()), int(seqs.max())) if len(seqs) else []
        fresh = seqset.first_occurrences(seqs) & ~seqset.contained(seqs, near)
        expected = [s not in model and s not in set(seqs[:i].tolist()) for i, s in enumerate(seqs)]
        assert fresh.tolist() == expected
        seqset.add(conn, "d", near, seqs[fresh])
        model.update(seqs.tolist())
        stored = intervals(conn, "d")
        assert {s for lo, hi in stored for s in range(lo, hi + 1)} == model
        assert all(b[0] > a[1] + 1 for a, b in itertools.pairwise(stored))
    assert intervals(conn, "other") == []


def test_runs_and_merge() -> None:
    assert seqset.runs(np.array([5, 3, 4, 9, 10, 12], dtype=np.int64)) == [
        (3, 5),
        (9, 10),
        (12, 12),
    ]
    assert seqset.merge([(5, 7), (0, 2), (3, 4), (10, 11)]) == [(0, 7), (10, 11)]
