"""Pooled timing values to draw from, never from the person a value is drawn for.

The anonymiser replaces each hold and flight with a value taken from *other people's* values
for the same key (or digraph): drawing from a pool that excludes the person means no draw can
carry their own rhythm, and the pool's size per category decides how specific the category
may be (a rare digraph falls back to its second key, then to all keys).
"""

from __future__ import annotations

import numpy as np

from workprint.privacy.timing.sessions import BoolArray, FloatArray, IntArray

_REJECTION_ROUNDS = 24


class Pool:
    """Values by category, each tagged with the person it came from."""

    def __init__(
        self, category: IntArray, values: FloatArray, person: IntArray, n_categories: int
    ) -> None:
        order = np.argsort(category, kind="stable")
        self.values = values[order]
        self.person = person[order]
        self.counts = np.bincount(category, minlength=n_categories).astype(np.int64)
        self.offsets = np.concatenate(([0], np.cumsum(self.counts)[:-1])).astype(np.int64)
        n_people = int(person.max(initial=-1)) + 1
        distinct = np.unique(category * max(n_people, 1) + person)
        self.people = np.bincount(distinct // max(n_people, 1), minlength=n_categories)

    def usable(self, category: IntArray, min_people: int) -> BoolArray:
        """Whether a category holds values of at least ``min_people`` people besides the one
        drawn for (counted conservatively: the person may be among them)."""
        return np.asarray(self.people[category] > min_people, dtype=np.bool_)

    def draw(
        self, category: IntArray, person: IntArray, rng: np.random.Generator
    ) -> tuple[FloatArray, BoolArray]:
        """One value per request from its category, from someone other than ``person``.

        Rejection sampling: a request whose person dominates the category may stay unmet
        (second array False) and goes to the next, coarser level."""
        n = len(category)
        values = np.zeros(n)
        met = np.zeros(n, dtype=np.bool_)
        pending = np.flatnonzero(self.counts[category] > 0)
        for _ in range(_REJECTION_ROUNDS):
            if len(pending) == 0:
                break
            cat = category[pending]
            index = self.offsets[cat] + (rng.random(len(pending)) * self.counts[cat]).astype(
                np.int64
            )
            own = self.person[index] == person[pending]
            good = pending[~own]
            values[good] = self.values[index[~own]]
            met[good] = True
            pending = pending[own]
        return values, met

    def draw_exact(self, person: int, rng: np.random.Generator) -> float:
        """One value of the whole pool from anyone but ``person`` (slow path, rare)."""
        others = np.flatnonzero(self.person != person)
        return float(self.values[others[rng.integers(len(others))]])


def draw_hierarchical(
    levels: list[tuple[Pool, IntArray]],
    person: IntArray,
    rng: np.random.Generator,
    min_people: int,
) -> tuple[FloatArray, BoolArray]:
    """Draw each request from the most specific level whose category has enough people; the
    last level should be a one-category pool of everything. Returns values and which were met
    (unmet only if even the last level has too few other people)."""
    n = len(person)
    values = np.zeros(n)
    met = np.zeros(n, dtype=np.bool_)
    for pool, category in levels:
        todo = np.flatnonzero(~met)
        if len(todo) == 0:
            break
        eligible = todo[pool.usable(category[todo], min_people)]
        drawn, ok = pool.draw(category[eligible], person[eligible], rng)
        values[eligible[ok]] = drawn[ok]
        met[eligible[ok]] = True
    last_pool, last_category = levels[-1]
    for index in np.flatnonzero(~met):
        if last_pool.usable(last_category[index : index + 1], min_people)[0]:
            values[index] = last_pool.draw_exact(int(person[index]), rng)
            met[index] = True
    return values, met
