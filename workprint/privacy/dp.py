"""Differentially private aggregates through OpenDP, with bounded per-person contribution.

The unit of privacy is a person: adding or removing everything one person contributed changes a
released aggregate by a bounded amount, and the noise is calibrated (by OpenDP's own privacy
maps, searched with ``binary_search_param``) to spend exactly the ε asked for.

- ``dp_histogram``: each person contributes at most ``max_per_person`` values (an even sample of
  their values when they have more); values are binned, counted with
  ``make_count_by_categories`` and released with OpenDP's discrete Laplace (geometric)
  mechanism; the symmetric distance between neighbouring datasets is ``max_per_person``.
- ``dp_sums``: a person's amounts per category (say seconds per app category) are scaled down so
  that their total is at most ``bound`` (an L1 bound), summed, and released with the continuous
  Laplace mechanism at L1 sensitivity ``bound``.

Negative noisy counts are clamped to zero afterwards (post-processing costs no privacy).
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from typing import Any, Final

import msgspec

MECHANISM_COUNTS: Final = "OpenDP make_count_by_categories + discrete Laplace (geometric)"
MECHANISM_SUMS: Final = "OpenDP Laplace on an L1-bounded per-person vector"


class DPResult(msgspec.Struct, frozen=True, kw_only=True):
    """A released aggregate: labels, noisy values, and how it was made."""

    name: str
    labels: tuple[str, ...]
    values: tuple[float, ...]
    epsilon: float  # what OpenDP's privacy map says this release costs
    scale: float
    contribution_bound: float
    mechanism: str
    people: int


def _prelude() -> Any:
    import opendp.prelude as dp

    dp.enable_features("contrib")
    return dp


def even_sample(values: Sequence[float], limit: int) -> list[float]:
    """At most ``limit`` of ``values``, spread evenly over them (deterministic)."""
    if len(values) <= limit:
        return list(values)
    step = len(values) / limit
    return [values[int(i * step)] for i in range(limit)]


def bin_labels(edges: Sequence[float], unit: str) -> tuple[str, ...]:
    """``[a, b)`` labels for consecutive edges, and ``≥ last`` for the open top bin."""
    labels = [f"{edges[i]:g}–{edges[i + 1]:g} {unit}" for i in range(len(edges) - 1)]
    return (*labels, f"≥ {edges[-1]:g} {unit}")


def dp_histogram(
    name: str,
    values_per_person: Mapping[str, Sequence[float]],
    edges: Sequence[float],
    *,
    unit: str,
    max_per_person: int,
    epsilon: float,
) -> DPResult:
    """A histogram of values (bins start at ``edges``; below the first edge counts in the first
    bin) with person-level ε-DP."""
    if epsilon <= 0 or max_per_person < 1:
        raise ValueError("epsilon must be > 0 and max_per_person ≥ 1")
    dp = _prelude()
    labels = bin_labels(edges, unit)
    rows: list[str] = []
    for values in values_per_person.values():
        for value in even_sample(values, max_per_person):
            rows.append(labels[max(0, bisect.bisect_right(edges, value) - 1)])
    space = (dp.vector_domain(dp.atom_domain(T=str)), dp.symmetric_distance())

    def make(scale: float) -> Any:
        counts = dp.t.make_count_by_categories(
            *space, categories=list(labels), null_category=False, MO=dp.L1Distance[int]
        )
        return counts >> dp.m.then_laplace(scale=scale)

    scale = dp.binary_search_param(make, d_in=max_per_person, d_out=epsilon, T=float)
    measurement = make(scale)
    noisy = measurement(rows)
    return DPResult(
        name=name,
        labels=labels,
        values=tuple(float(max(0, v)) for v in noisy),
        epsilon=float(measurement.map(max_per_person)),
        scale=float(scale),
        contribution_bound=float(max_per_person),
        mechanism=MECHANISM_COUNTS,
        people=len(values_per_person),
    )


def dp_sums(
    name: str,
    amounts_per_person: Mapping[str, Mapping[str, float]],
    categories: Sequence[str],
    *,
    bound: float,
    epsilon: float,
) -> DPResult:
    """Per-category totals with person-level ε-DP; each person's vector is L1-bounded."""
    if epsilon <= 0 or bound <= 0:
        raise ValueError("epsilon and bound must be > 0")
    dp = _prelude()
    totals = [0.0] * len(categories)
    index = {c: i for i, c in enumerate(categories)}
    for amounts in amounts_per_person.values():
        clean = {c: max(0.0, float(a)) for c, a in amounts.items() if c in index}
        total = sum(clean.values())
        shrink = bound / total if total > bound else 1.0
        for category, amount in clean.items():
            totals[index[category]] += amount * shrink
    space = (
        dp.vector_domain(dp.atom_domain(T=float, nan=False), size=len(categories)),
        dp.l1_distance(T=float),
    )

    def make(scale: float) -> Any:
        return dp.m.make_laplace(*space, scale=scale)

    scale = dp.binary_search_param(make, d_in=float(bound), d_out=epsilon, T=float)
    measurement = make(scale)
    noisy = measurement(totals)
    return DPResult(
        name=name,
        labels=tuple(categories),
        values=tuple(float(max(0.0, v)) for v in noisy),
        epsilon=float(measurement.map(float(bound))),
        scale=float(scale),
        contribution_bound=float(bound),
        mechanism=MECHANISM_SUMS,
        people=len(amounts_per_person),
    )
