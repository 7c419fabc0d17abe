"""Keystroke timings re-synthesised from other people's timings (docs/privacy-timing.md).

Adding random delays to each key does not hide a typist: an attacker who trains on the noisy
output averages the noise away and still sees the person's mean hold per key and flight per
digraph. So nothing per key is kept: every hold is drawn from other people's holds of the same
key, every flight from other people's flights of the same digraph (in units of their session's
median flight), and never from the person themselves. The key sequence is kept exactly (press
order; the rows and their order are untouched).

The strict profile (default) keeps no session statistic either: the session's span is another
person's ms-per-key times its key count, and pauses are drawn like any interval. The utility
profile keeps the span, moved to a random one of the two nearest points of a fixed log grid
(randomised rounding: speed within ``speed_tolerance``, many sessions sharing each value), and
where the pauses (intervals >= ``pause_ms``) were. Per-session speed is itself an identifier,
so that profile costs privacy (figures in docs/privacy-timing.md).
"""

from __future__ import annotations

import math
import secrets
from typing import Literal

import numpy as np
import pyarrow as pa

from workprint.privacy.timing.population import Pool, draw_hierarchical
from workprint.privacy.timing.sessions import (
    BoolArray,
    FloatArray,
    IntArray,
    KeystrokeSessions,
    group_median,
    group_sum,
    keystroke_sessions,
)
from workprint.privacy.timing.settings import (
    DEFAULT_MIN_PEOPLE,
    DEFAULT_PAUSE_MS,
    TimingInputError,
)

_REFERENCE_PREFIX = "\x00reference:"


def target_spans(
    span: FloatArray, intervals: IntArray, tolerance: float, rng: np.random.Generator
) -> FloatArray:
    """Each session's new first-to-last-press span in whole ms.

    Randomised rounding of log(span) to a grid of step log(1 + tolerance): unbiased, one of two
    grid values shared by every session near it, and speed (intervals / span) moves by at most
    ``tolerance`` — kept exact after rounding to ms by clamping. A span shorter than 1 ms per
    interval is stretched to that (ms resolution cannot keep a faster press order)."""
    step = math.log1p(tolerance)
    result = np.maximum(span, 0.0)
    positive = span > 0
    log_span = np.log(span[positive])
    grid = step * np.floor(log_span / step + rng.random(len(log_span)))
    target = np.rint(np.exp(grid))
    low = np.ceil(span[positive] / (1 + tolerance))
    high = np.floor(span[positive] / (1 - tolerance)) if tolerance < 1 else np.inf
    result[positive] = np.clip(target, low, np.maximum(low, high))
    return np.maximum(result, intervals.astype(np.float64))


def jittered_spans(
    span: FloatArray, intervals: IntArray, tolerance: float, rng: np.random.Generator
) -> FloatArray:
    """Each session's span times a factor drawn log-uniformly from the whole tolerance band.

    Same guarantee as ``target_spans`` (speed within ``tolerance``, clamped after rounding to
    ms) but twice the error variance: randomised rounding moves log(speed) by a triangular
    error of half-width log(1 + tolerance), this by a uniform one over the whole band, which
    hides more of the session's own speed for the same bound."""
    result = np.maximum(span, 0.0)
    positive = span > 0
    low_factor, high_factor = math.log(1 - tolerance), math.log1p(tolerance)
    ratio = np.exp(rng.uniform(low_factor, high_factor, int(positive.sum())))
    target = np.rint(span[positive] / ratio)
    low = np.ceil(span[positive] / (1 + tolerance))
    high = np.floor(span[positive] / (1 - tolerance))
    result[positive] = np.clip(target, low, np.maximum(low, high))
    return np.maximum(result, intervals.astype(np.float64))


def _pooled_spans(
    s: KeystrokeSessions, span: FloatArray, rng: np.random.Generator, min_people: int
) -> FloatArray:
    """Spans with another person's ms-per-key: the session's own speed is not kept."""
    intervals = s.sizes - 1
    has = intervals > 0
    per_key = np.where(has, span / np.maximum(intervals, 1), 0.0)
    one = np.zeros(s.n_groups, dtype=np.int64)
    pool = Pool(one[has], per_key[has], s.group_person[has], 1)
    drawn, met = draw_hierarchical([(pool, one)], s.group_person, rng, min_people)
    return np.maximum(np.rint(np.where(met, drawn, per_key) * intervals), intervals)


def _shuffled_pauses(
    pause: BoolArray, group: IntArray, n_groups: int, rng: np.random.Generator
) -> BoolArray:
    """As many pauses per session as ``pause`` marks, at positions drawn uniformly among the
    session's intervals: where a person paused (a habit) is not kept, only how often."""
    count = np.bincount(group[pause], minlength=n_groups)
    order = np.lexsort((rng.random(len(group)), group))
    starts = np.searchsorted(group[order], np.arange(n_groups))
    rank = np.empty(len(group), dtype=np.int64)
    rank[order] = np.arange(len(group)) - starts[group[order]]
    return np.asarray(rank < count[group], dtype=np.bool_)


def _digraph_codes(prev_key: IntArray, key: IntArray, n_keys: int) -> IntArray:
    _, codes = np.unique(prev_key * n_keys + key, return_inverse=True)
    return np.asarray(codes, dtype=np.int64)


def _below_pause_threshold(
    flight: FloatArray, pause: BoolArray, group: IntArray, n_groups: int, pause_ms: float
) -> FloatArray:
    """Move the time of non-pause intervals that scaling pushed to the pause threshold into
    the session's pauses, or into its other intervals' headroom: the pause count is kept
    without changing the span. A session where neither fits keeps its span (speed first)."""
    if not math.isfinite(pause_ms):  # the strict profile: no pause is kept, nothing to move
        return flight
    cap = pause_ms - 3.0  # + 1 ms floor and +-1 ms of rounding stay below pause_ms
    over = np.where(pause, 0.0, np.maximum(flight - cap, 0.0))
    excess = group_sum(over, group, n_groups)
    capped = np.where(pause, flight, np.minimum(flight, cap))
    pause_time = group_sum(np.where(pause, capped, 0.0), group, n_groups)
    headroom = np.where(pause, 0.0, cap - capped)
    room = group_sum(headroom, group, n_groups)
    into_pauses = (excess > 0) & (pause_time > 0)
    into_others = (excess > 0) & ~into_pauses & (room >= excess)
    pause_share = np.divide(excess, pause_time, out=np.zeros(n_groups), where=into_pauses)
    room_share = np.divide(excess, room, out=np.zeros(n_groups), where=into_others)
    moved = np.where(
        pause, capped * (1 + pause_share[group]), capped + headroom * room_share[group]
    )
    changed = (into_pauses | into_others)[group]
    return np.asarray(np.where(changed, moved, flight), dtype=np.float64)


def _synthetic_intervals(
    s: KeystrokeSessions,
    rel: FloatArray,
    pause: np.ndarray,
    span: FloatArray,
    pause_ms: float,
) -> FloatArray:
    """Scale relative flights so each session spans ``span`` ms, pauses stay >= pause_ms and
    other intervals below it where the span allows; every interval >= 1 ms."""
    n_groups = s.n_groups
    group = s.group[~s.is_first]
    spare = span - (s.sizes - 1)  # ms to share out above the 1 ms floor of each interval
    total_rel = group_sum(rel, group, n_groups)
    scale = np.divide(spare, total_rel, out=np.zeros(n_groups), where=total_rel > 0)
    flight = rel * scale[group]
    flight = np.where(pause, np.maximum(flight, pause_ms), np.minimum(flight, pause_ms - 1))
    flight = np.maximum(flight, 0.0)
    pauses = group_sum(np.where(pause, flight, 0.0), group, n_groups)
    others = group_sum(np.where(pause, 0.0, flight), group, n_groups)
    remaining = spare - pauses
    fits = (remaining >= 0.5 * others) & (others > 0)
    other_scale = np.divide(remaining, others, out=np.ones(n_groups), where=others > 0)
    total = pauses + others
    all_scale = np.divide(spare, total, out=np.zeros(n_groups), where=total > 0)
    factor = np.where(pause, 1.0, other_scale[group])
    flight = np.where(fits[group], flight * factor, flight * all_scale[group])
    flight = _below_pause_threshold(flight, pause, group, n_groups, pause_ms)
    # A session of equal intervals when nothing could be drawn (all relative flights zero).
    even = total_rel <= 0
    counts = np.maximum(s.sizes - 1, 1)
    flight = np.where(even[group], (spare / counts)[group], flight)
    return flight + 1.0


def anonymize_keystrokes(
    table: pa.Table,
    *,
    seed: int | None = None,
    pause_ms: float = DEFAULT_PAUSE_MS,
    speed_tolerance: float | None = None,
    keep_pauses: bool | Literal["count"] = False,
    min_people: int = DEFAULT_MIN_PEOPLE,
    reference: pa.Table | None = None,
    speed_noise: Literal["grid", "uniform"] = "grid",
) -> pa.Table:
    """Columns user (string), session (string), keyname (string), timepress (float64 ms),
    timerelease (float64 ms) — extra columns passed through; same row order; times anonymised.

    Times come out as whole ms; each session's first press is kept. ``reference`` (same five
    columns) adds other people's timings to the pool without being output: needed when the
    table itself holds fewer than ``min_people`` + 1 people, else ``TimingInputError``.

    By default (the strict profile) no session statistic is kept: each session's span is drawn
    from other people's sessions (ms per key) and every interval, pause or not, from the pool
    of all intervals, so only the key sequence is left. ``speed_tolerance=0.1`` keeps each
    session's typing speed within 10% and ``keep_pauses=True`` its pause positions — the
    utility profile; docs/privacy-timing.md gives what each costs in re-identification.
    ``keep_pauses="count"`` keeps only how many pauses a session has, at random positions;
    ``speed_noise="uniform"`` moves the speed by a log-uniform factor over the whole tolerance
    band instead of randomised rounding to a grid (``jittered_spans``)."""
    if speed_tolerance is not None and not 0 < speed_tolerance < 1:
        raise TimingInputError("speed_tolerance must be between 0 and 1")
    if pause_ms <= 1:
        raise TimingInputError("pause_ms must be more than 1")
    if keep_pauses not in (True, False, "count"):
        raise TimingInputError("keep_pauses must be true, false or 'count'")
    if speed_noise not in ("grid", "uniform"):
        raise TimingInputError("speed_noise must be 'grid' or 'uniform'")
    rng = np.random.default_rng(secrets.randbits(64) if seed is None else seed)
    n_out = table.num_rows
    keys = keystroke_sessions(table)  # validates the table itself, with its own row numbers
    if n_out == 0:
        return table
    pooled = table.select(list(keys_columns()))
    if reference is not None:
        keystroke_sessions(reference)
        ref = reference.select(list(keys_columns()))
        ref_user = pa.array([_REFERENCE_PREFIX + str(u) for u in ref.column("user").to_pylist()])
        ref = ref.set_column(0, "user", ref_user)
        pooled = pa.concat_tables([_as_strings(pooled), _as_strings(ref)])
        keys = keystroke_sessions(pooled)
    if len(keys.person_names) <= min_people:
        raise TimingInputError(
            f"{len(keys.person_names)} people: anonymising by pooling needs at least "
            f"{min_people + 1}; pass reference timings of other people"
        )
    press, release = _anonymised_times(
        keys,
        rng,
        pause_ms if keep_pauses else math.inf,
        speed_tolerance,
        min_people,
        shuffle_pauses=keep_pauses == "count",
        speed_noise=speed_noise,
    )
    out = keys.row < n_out
    new_press = np.empty(n_out)
    new_release = np.empty(n_out)
    new_press[keys.row[out]] = press[out]
    new_release[keys.row[out]] = release[out]
    result = table
    for name, values in (("timepress", new_press), ("timerelease", new_release)):
        result = result.set_column(
            result.column_names.index(name), name, pa.array(values, pa.float64())
        )
    return result


def keys_columns() -> tuple[str, ...]:
    return ("user", "session", "keyname", "timepress", "timerelease")


def _as_strings(table: pa.Table) -> pa.Table:
    columns = [
        table.column(name).cast(pa.string())
        if name in ("user", "session", "keyname")
        else table.column(name).cast(pa.float64())
        for name in keys_columns()
    ]
    return pa.table(columns, names=list(keys_columns()))


def _anonymised_times(
    s: KeystrokeSessions,
    rng: np.random.Generator,
    pause_ms: float,
    speed_tolerance: float | None,
    min_people: int,
    *,
    shuffle_pauses: bool = False,
    speed_noise: str = "grid",
) -> tuple[FloatArray, FloatArray]:
    """New press and release times in sorted order (see the module docstring)."""
    n_keys = len(s.key_names)
    first = s.is_first
    later = ~first
    group = s.group[later]
    person = s.person[later]
    flight = s.press[later] - np.roll(s.press, 1)[later]
    prev_key = np.roll(s.key, 1)[later]
    key = s.key[later]
    pause = flight >= pause_ms
    if shuffle_pauses:
        pause = _shuffled_pauses(pause, group, s.n_groups, rng)
    typical = group_median(flight[~pause], group[~pause], s.n_groups)
    typical = np.where(np.isnan(typical), group_median(flight, group, s.n_groups), typical)
    typical = np.maximum(np.nan_to_num(typical, nan=1.0), 1.0)
    rel = flight / typical[group]
    everything = np.zeros(len(rel), dtype=np.int64)

    digraph = _digraph_codes(prev_key, key, n_keys)
    n_digraphs = int(digraph.max(initial=-1)) + 1
    steady = ~pause
    levels = [
        (Pool(digraph[steady], rel[steady], person[steady], n_digraphs), digraph),
        (Pool(key[steady], rel[steady], person[steady], n_keys), key),
        (Pool(everything[steady], rel[steady], person[steady], 1), everything),
    ]
    drawn, met = draw_hierarchical(levels, person, rng, min_people)
    pause_pool = Pool(everything[pause], rel[pause], person[pause], 1)
    pause_drawn, pause_met = draw_hierarchical([(pause_pool, everything)], person, rng, min_people)
    # A pause with no pool to draw from is left at zero and becomes exactly pause_ms.
    new_rel = np.where(pause, np.where(pause_met, pause_drawn, 0.0), np.where(met, drawn, 1.0))

    span = s.press[s.starts + s.sizes - 1] - s.press[s.starts]
    if speed_tolerance is None:
        target = _pooled_spans(s, span, rng, min_people)
    else:
        spans_for = jittered_spans if speed_noise == "uniform" else target_spans
        target = spans_for(span, s.sizes - 1, speed_tolerance, rng)
    intervals = _synthetic_intervals(s, new_rel, pause, target, pause_ms)
    steps = np.zeros(len(s.row))
    steps[later] = intervals
    cumulative = np.cumsum(steps)
    offset = cumulative - np.repeat(cumulative[s.starts], s.sizes)
    # floor(x + 0.5) is monotone with floor(x + 1.5) = floor(x + 0.5) + 1: intervals >= 1 ms
    # stay >= 1 ms after rounding, so press order is kept exactly.
    press = np.repeat(s.press[s.starts], s.sizes) + np.floor(offset + 0.5)

    everyone = np.zeros(len(s.row), dtype=np.int64)
    hold = s.release - s.press
    hold_levels = [
        (Pool(s.key, hold, s.person, n_keys), s.key),
        (Pool(everyone, hold, s.person, 1), everyone),
    ]
    new_hold, hold_met = draw_hierarchical(hold_levels, s.person, rng, min_people)
    if not hold_met.all():
        raise TimingInputError("too few people in the pool to draw key holds from")
    return press, press + np.floor(new_hold + 0.5)
