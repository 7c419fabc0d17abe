"""Which (source, seq) pairs are stored, as merged inclusive intervals instead of a row per event.

A device's seqs only grow and its batches are contiguous, so a healthy device has one interval
that each batch extends; gaps appear only where events were rejected or never sent. Lookups read
just the intervals that overlap (or touch) the batch's seq span.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from workprint.store.embedded.database import Conn

Seqs = npt.NDArray[np.int64]
Mask = npt.NDArray[np.bool_]


def nearby(conn: Conn, source: str, lo: int, hi: int) -> list[tuple[int, int]]:
    """Stored intervals of ``source`` overlapping or adjacent to ``[lo, hi]``, sorted."""
    rows = conn.execute(
        "SELECT lo, hi FROM seq_ranges WHERE source = ? AND hi >= ? AND lo <= ? ORDER BY lo",
        (source, lo - 1, hi + 1),
    ).fetchall()
    return [(int(a), int(b)) for a, b in rows]


def contained(seqs: Seqs, intervals: list[tuple[int, int]]) -> Mask:
    """For each seq, whether one of the sorted disjoint ``intervals`` holds it."""
    if not intervals:
        return np.zeros(len(seqs), dtype=np.bool_)
    los = np.array([a for a, _ in intervals], dtype=np.int64)
    his = np.array([b for _, b in intervals], dtype=np.int64)
    idx = np.searchsorted(los, seqs, side="right") - 1
    inside: Mask = (idx >= 0) & (seqs <= his[np.maximum(idx, 0)])
    return inside


def first_occurrences(seqs: Seqs) -> Mask:
    """True for the first row carrying each seq (a batch repeating a seq stores it once)."""
    keep = np.zeros(len(seqs), dtype=np.bool_)
    if len(seqs):
        _, first = np.unique(seqs, return_index=True)
        keep[first] = True
    return keep


def runs(seqs: Seqs) -> list[tuple[int, int]]:
    """Sorted unique seqs → inclusive runs of consecutive numbers."""
    if len(seqs) == 0:
        return []
    ordered = np.unique(seqs)
    breaks = np.flatnonzero(np.diff(ordered) != 1)
    starts = np.concatenate(([0], breaks + 1))
    ends = np.concatenate((breaks, [len(ordered) - 1]))
    return [(int(ordered[s]), int(ordered[e])) for s, e in zip(starts, ends, strict=True)]


def merge(intervals: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Merge overlapping or adjacent inclusive intervals."""
    merged: list[tuple[int, int]] = []
    for lo, hi in sorted(intervals):
        if merged and lo <= merged[-1][1] + 1:
            if hi > merged[-1][1]:
                merged[-1] = (merged[-1][0], hi)
        else:
            merged.append((lo, hi))
    return merged


def add(conn: Conn, source: str, existing: list[tuple[int, int]], new: Seqs) -> None:
    """Record ``new`` seqs as stored; ``existing`` must be ``nearby`` for their whole span."""
    fresh = runs(new)
    if not fresh:
        return
    combined = merge(existing + fresh)
    conn.executemany(
        "DELETE FROM seq_ranges WHERE source = ? AND lo = ?", [(source, lo) for lo, _ in existing]
    )
    conn.executemany(
        "INSERT INTO seq_ranges (source, lo, hi) VALUES (?, ?, ?)",
        [(source, lo, hi) for lo, hi in combined],
    )
