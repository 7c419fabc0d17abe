"""Per-session keystroke-dynamics features, as the re-identification literature uses them.

Killourhy & Maxion (2009) and Monaco's keystroke work identify typists from mean hold per key
and mean flight per digraph (press-to-press and release-to-press), plus session-level rhythm:
speed, rollover rate, pause statistics. A feature a session lacks (its text has no such
digraph) takes the session's own median, so the attack scores timing, not which text was typed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

import numpy as np

from workprint.privacy.timing.sessions import (
    FloatArray,
    IntArray,
    KeystrokeSessions,
    group_median,
    group_sum,
)

DEFAULT_MIN_SHARE = 0.2  # a key or digraph used in at least this share of sessions is a feature
# ``common``: only keys and digraphs nearly every session has. With rarer ones, which values are
# missing (filled with the session median) spells out the text typed, a content signal: on
# fixed_text.csv the timing-free copy is identified 3-4x chance through ``full``, at chance
# through ``common``, while raw identification is as high (docs/privacy-timing.md).
COMMON_SHARE = 0.8
COARSE_FEATURES: Final = ("log_ms_per_key", "pause_count", "pause_share")


@dataclass(frozen=True)
class SessionFeatures:
    """One row per session: ``matrix[:, names.index(n)]`` is feature ``n``."""

    matrix: FloatArray
    names: list[str]
    person: IntArray  # person code of each session
    person_names: list[str]
    common: list[int] = field(default_factory=list)  # columns of keys/digraphs most sessions have

    def columns(self, selection: str) -> FloatArray:
        """``full`` (everything), ``common`` (per-key features of keys and digraphs in at least
        ``COMMON_SHARE`` of sessions, and the session statistics: timing without a missing-value
        pattern), ``global`` (session-level statistics), or ``coarse`` (only what the utility
        profiles keep on purpose: speed and pauses), or ``speed`` (log ms per key alone)."""
        if selection == "full":
            return self.matrix
        if selection == "common":
            wanted = self.common + [
                i for i, name in enumerate(self.names) if not name.startswith(("h:", "f"))
            ]
        elif selection == "global":
            wanted = [i for i, name in enumerate(self.names) if not name.startswith(("h:", "f"))]
        elif selection == "coarse":
            wanted = [self.names.index(name) for name in COARSE_FEATURES]
        elif selection == "speed":  # typing speed alone: what a speed-keeping profile must keep
            wanted = [self.names.index("log_ms_per_key")]
        else:
            raise ValueError(f"unknown feature set {selection!r}")
        return self.matrix[:, wanted]


def _per_category_mean(
    values: FloatArray,
    group: IntArray,
    category: IntArray,
    n_groups: int,
    n_categories: int,
    fallback: FloatArray,
) -> FloatArray:
    """Mean of ``values`` per (group, category); the group's ``fallback`` where it has none."""
    cell = group * n_categories + category
    size = n_groups * n_categories
    sums = np.bincount(cell, weights=values, minlength=size).reshape(n_groups, n_categories)
    counts = np.bincount(cell, minlength=size).reshape(n_groups, n_categories)
    means = np.divide(sums, counts, out=np.zeros_like(sums), where=counts > 0)
    return np.where(counts > 0, means, fallback[:, None])


def _sessions_with(category: IntArray, group: IntArray) -> IntArray:
    """How many sessions have each category at least once."""
    if len(category) == 0:
        return np.zeros(0, dtype=np.int64)
    n_categories = int(category.max()) + 1
    present = np.unique(group * n_categories + category) % n_categories
    return np.bincount(present, minlength=n_categories).astype(np.int64)


def _frequent(category: IntArray, group: IntArray, n_groups: int, min_share: float) -> IntArray:
    """Categories that occur in at least ``min_share`` of the sessions."""
    sessions_with = _sessions_with(category, group)
    return np.flatnonzero(sessions_with >= max(1.0, min_share * n_groups)).astype(np.int64)


def content_features(s: KeystrokeSessions) -> FloatArray:
    """What the key sequence alone says, no timing: count of each key per session and which
    digraphs (in at least two sessions) it contains. The anonymiser keeps key order exactly, so
    an attack on these is the same on raw and anonymised data: the key-content floor."""
    n_groups, n_keys = s.n_groups, len(s.key_names)
    key_counts = np.bincount(s.group * n_keys + s.key, minlength=n_groups * n_keys)
    later = ~s.is_first
    _, digraph = np.unique(np.roll(s.key, 1)[later] * n_keys + s.key[later], return_inverse=True)
    digraph = digraph.astype(np.int64)
    n_dig = int(digraph.max(initial=-1)) + 1
    cells = np.unique(s.group[later] * n_dig + digraph)
    present = np.zeros(n_groups * n_dig)
    present[cells] = 1.0
    shared = np.flatnonzero(_sessions_with(digraph, s.group[later]) >= 2)
    return np.hstack(
        (
            key_counts.reshape(n_groups, n_keys).astype(np.float64),
            present.reshape(n_groups, n_dig)[:, shared],
        )
    )


def session_features(
    s: KeystrokeSessions, *, pause_ms: float = 2000.0, min_share: float = DEFAULT_MIN_SHARE
) -> SessionFeatures:
    """The feature matrix of every session in ``s``."""
    n_groups = s.n_groups
    later = ~s.is_first
    group = s.group[later]
    hold = s.release - s.press
    pp = s.press[later] - np.roll(s.press, 1)[later]
    rp = s.press[later] - np.roll(s.release, 1)[later]
    n_keys = len(s.key_names)
    digraph = np.roll(s.key, 1)[later] * n_keys + s.key[later]
    _, digraph = np.unique(digraph, return_inverse=True)
    digraph = digraph.astype(np.int64)
    pause = pp >= pause_ms
    steady = ~pause

    median_hold = np.nan_to_num(group_median(hold, s.group, n_groups))
    median_pp = np.nan_to_num(group_median(pp[steady], group[steady], n_groups))
    median_rp = np.nan_to_num(group_median(rp[steady], group[steady], n_groups))
    columns: list[FloatArray] = []
    names: list[str] = []

    keys = _frequent(s.key, s.group, n_groups, min_share)
    common_keys = set(_frequent(s.key, s.group, n_groups, COMMON_SHARE).tolist())
    common = [i for i, k in enumerate(keys.tolist()) if k in common_keys]
    n_cat = n_keys
    holds = _per_category_mean(hold, s.group, s.key, n_groups, n_cat, median_hold)[:, keys]
    columns.append(holds)
    names += [f"h:{s.key_names[k]}" for k in keys]

    # Chosen by presence alone, so raw and anonymised copies of a table get the same columns.
    frequent = _frequent(digraph, group, n_groups, min_share)
    common_digraphs = set(_frequent(digraph, group, n_groups, COMMON_SHARE).tolist())
    n_dig = int(digraph.max(initial=-1)) + 1
    for label, values, fallback in (("fpp", pp, median_pp), ("frp", rp, median_rp)):
        common += [len(names) + i for i, d in enumerate(frequent.tolist()) if d in common_digraphs]
        means = _per_category_mean(
            values[steady], group[steady], digraph[steady], n_groups, n_dig, fallback
        )[:, frequent]
        columns.append(means)
        names += [f"{label}:{d}" for d in frequent]

    span = s.press[s.starts + s.sizes - 1] - s.press[s.starts]
    per_key = np.divide(span, s.sizes - 1, out=np.ones(n_groups), where=s.sizes > 1)
    pause_count = np.bincount(group[pause], minlength=n_groups).astype(np.float64)
    pause_time = group_sum(np.where(pause, pp, 0.0), group, n_groups)
    steady_count = np.maximum(np.bincount(group[steady], minlength=n_groups), 1)
    rollover = np.bincount(group[steady & (rp < 0)], minlength=n_groups) / steady_count
    mean_hold = group_sum(hold, s.group, n_groups) / np.maximum(s.sizes, 1)
    log_pp = np.log(np.maximum(pp[steady], 1.0))
    mean_log_pp = group_sum(log_pp, group[steady], n_groups) / steady_count
    var_log_pp = group_sum(log_pp**2, group[steady], n_groups) / steady_count - mean_log_pp**2
    global_stats = {
        "log_ms_per_key": np.log(np.maximum(per_key, 1e-3)),
        "pause_count": pause_count,
        "pause_share": np.divide(pause_time, span, out=np.zeros(n_groups), where=span > 0),
        "median_hold": median_hold,
        "mean_hold": mean_hold,
        "median_pp": median_pp,
        "median_rp": median_rp,
        "std_log_pp": np.sqrt(np.maximum(var_log_pp, 0.0)),
        "rollover": rollover,
    }
    columns.append(np.column_stack(list(global_stats.values())))
    names += list(global_stats)
    return SessionFeatures(
        matrix=np.hstack(columns),
        names=names,
        person=s.group_person,
        person_names=s.person_names,
        common=common,
    )
