"""How sure a re-identification figure is: 95% intervals and the verdict against a target.

240 probes at chance 1/60 is about 4 expected hits, so one probe moves a figure by 0.4 points
and "2x chance" is 8 hits: a bare count cannot say whether an anonymiser meets the target. Two
intervals are computed and the wider span of both kept. Wilson's score interval treats the
probes as independent draws (the literature's habit). The person-level bootstrap resamples
people, keeping each one's probes (sessions and repeated anonymisation draws) together, which
is what is really independent: pooling repeated draws of the same sessions must not pass for
more data than there is.
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np

from workprint.privacy.timing.sessions import IntArray

Z95: Final = 1.959963984540054
BOOTSTRAP_ROUNDS: Final = 2000


def wilson_interval(correct: int, probes: int, z: float = Z95) -> tuple[float, float]:
    """Wilson's score interval for a binomial proportion (good near 0, unlike the Wald one)."""
    if probes <= 0:
        return (math.nan, math.nan)
    p = correct / probes
    denominator = 1 + z * z / probes
    centre = (p + z * z / (2 * probes)) / denominator
    half = z * math.sqrt(p * (1 - p) / probes + z * z / (4 * probes * probes)) / denominator
    # At 0 or all hits the bound is exactly 0 or 1; floating point would miss it by an ulp.
    low = 0.0 if correct <= 0 else max(0.0, centre - half)
    high = 1.0 if correct >= probes else min(1.0, centre + half)
    return (low, high)


def person_bootstrap_interval(
    correct_by_person: IntArray, probes_by_person: IntArray, seed: int = 0
) -> tuple[float, float]:
    """Percentile interval of the pooled accuracy when whole people are resampled."""
    n = len(probes_by_person)
    if n == 0 or probes_by_person.sum() == 0:
        return (math.nan, math.nan)
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, n, size=(BOOTSTRAP_ROUNDS, n))
    hits = correct_by_person[picks].sum(axis=1)
    tries = np.maximum(probes_by_person[picks].sum(axis=1), 1)
    low, high = np.quantile(hits / tries, [0.025, 0.975])
    return (float(low), float(high))


def interval(
    correct_by_person: IntArray, probes_by_person: IntArray, seed: int = 0
) -> tuple[float, float]:
    """The union of the Wilson and the person-bootstrap 95% intervals (the cautious one)."""
    wilson = wilson_interval(int(correct_by_person.sum()), int(probes_by_person.sum()))
    boot = person_bootstrap_interval(correct_by_person, probes_by_person, seed)
    return (min(wilson[0], boot[0]), max(wilson[1], boot[1]))


def verdict(low: float, high: float, target: float) -> str:
    """Whether a figure is significantly above, significantly below, or not distinguishable
    from ``target`` (e.g. 2x chance) at the 95% level."""
    if low > target:
        return "above"
    if high < target:
        return "below"
    return "not distinguishable"
