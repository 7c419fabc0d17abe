"""The aggregate statistics of a release (typing speed, pauses, time per app category; overall
and per team), gathered per person from the raw events and released only through
``workprint.privacy.dp`` — and the ε each person and team is charged for them.

Budget split: a release's ε is divided evenly over the queries one person can be in (three
overall, three for their team when teams are released), so nobody is charged more than the
release's ε. A team's charge is the ε of every query over any of its members.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

import pyarrow as pa
import pyarrow.compute as pc

from workprint.privacy.dp import DPResult, dp_histogram, dp_sums
from workprint.privacy.generalise import OTHER_CATEGORY, generalise_app
from workprint.privacy.ledger import Charge
from workprint.release.policy import ReleasePolicy

SPEED_EDGES: Final = (0.0, 40.0, 80.0, 120.0, 160.0, 200.0, 240.0, 300.0, 400.0)  # keys/min
PAUSE_EDGES: Final = (0.0, 100.0, 200.0, 300.0, 500.0, 750.0, 1000.0, 2000.0, 5000.0)  # ms
BURST_GAP_NS: Final = 2_000_000_000
BREAK_NS: Final = 60_000_000_000  # longer gaps are breaks, not pauses
MIN_BURST_KEYS: Final = 5
QUERIES: Final = ("typing_speed", "pauses", "app_time")


@dataclass
class PersonActivity:
    """What one person's raw events say, for the aggregates only (never released as is)."""

    speeds: list[float] = field(default_factory=list)
    pauses_ms: list[float] = field(default_factory=list)
    app_seconds: Counter[str] = field(default_factory=Counter)


def observe(activity: PersonActivity, events: pa.Table, policy: ReleasePolicy) -> None:
    """Add one session's raw events (EVENT_SCHEMA) to a person's activity."""
    types = pc.cast(events.column("type"), pa.string())
    times = events.column("t")
    downs = sorted(times.filter(pc.equal(types, "key_down")).to_pylist())
    burst = downs[:1]
    for prev, now in itertools.pairwise(downs):
        gap = now - prev
        if gap < BREAK_NS:
            activity.pauses_ms.append(gap / 1e6)
        if gap > BURST_GAP_NS:
            _close_burst(activity, burst)
            burst = []
        burst.append(now)
    _close_burst(activity, burst)
    focus = pc.equal(types, "window_focus")
    apps = events.column("app").filter(focus).to_pylist()
    starts = times.filter(focus).to_pylist()
    end = pc.max(times).as_py() if events.num_rows else 0
    for i, (app, at) in enumerate(zip(apps, starts, strict=True)):
        until = starts[i + 1] if i + 1 < len(starts) else end
        category = generalise_app(app, policy.apps.allowlist, policy.apps.categories)
        activity.app_seconds[category or OTHER_CATEGORY] += max(0, until - at) / 1e9


def _close_burst(activity: PersonActivity, burst: list[int]) -> None:
    if len(burst) >= MIN_BURST_KEYS and burst[-1] > burst[0]:
        activity.speeds.append((len(burst) - 1) / ((burst[-1] - burst[0]) / 6e10))


@dataclass
class AggregatePlan:
    """Which groups get aggregates, what each query costs, and the resulting charges."""

    groups: dict[str, list[str]]  # "all" or "team:<name>" → person ids
    epsilon_per_query: float
    charges: list[Charge]
    skipped: list[str]


def plan_aggregates(people: list[str], policy: ReleasePolicy) -> AggregatePlan:
    """Groups of at least ``min_group_size`` people; the ε each person and team is charged."""
    dp = policy.dp
    skipped: list[str] = []
    if dp.epsilon <= 0:
        return AggregatePlan({}, 0.0, [], ["dp.epsilon is 0: no aggregates"])
    groups: dict[str, list[str]] = {}
    if len(people) >= dp.min_group_size:
        groups["all"] = sorted(people)
    else:
        skipped.append(f"all: {len(people)} people < min_group_size {dp.min_group_size}")
    team_of = policy.team_of()
    for team in policy.teams:
        members = sorted(p for p in people if team_of.get(p) == team)
        if len(members) >= dp.min_group_size:
            groups[f"team:{team}"] = members
        elif members:
            skipped.append(f"team {team}: fewer than min_group_size {dp.min_group_size} people")
    if not groups:
        return AggregatePlan({}, 0.0, [], skipped)
    layers = 2 if any(g.startswith("team:") for g in groups) else 1
    per_query = dp.epsilon / (len(QUERIES) * layers)
    spend: dict[str, float] = {}
    for members in groups.values():
        for person in members:
            spend[person] = spend.get(person, 0.0) + per_query * len(QUERIES)
    charges = [Charge(kind="person", subject=p, epsilon=e) for p, e in sorted(spend.items())]
    for team in policy.teams:
        touched = {g for g, members in groups.items() for p in members if team_of.get(p) == team}
        if touched:
            cost = per_query * len(QUERIES) * len(touched)
            charges.append(Charge(kind="team", subject=team, epsilon=cost))
    return AggregatePlan(groups, per_query, charges, skipped)


def run_aggregates(
    plan: AggregatePlan, activity: Mapping[str, PersonActivity], policy: ReleasePolicy
) -> list[DPResult]:
    """Every planned query, through OpenDP."""
    dp = policy.dp
    out: list[DPResult] = []
    categories = sorted({*policy.apps.categories.values(), *policy.apps.allowlist, OTHER_CATEGORY})
    for group, members in plan.groups.items():
        mine = {p: activity.get(p, PersonActivity()) for p in members}
        eps = plan.epsilon_per_query
        out.append(
            dp_histogram(
                f"{group}/typing_speed",
                {p: a.speeds for p, a in mine.items()},
                SPEED_EDGES,
                unit="keys/min",
                max_per_person=dp.max_values_per_person,
                epsilon=eps,
            )
        )
        out.append(
            dp_histogram(
                f"{group}/pauses",
                {p: a.pauses_ms for p, a in mine.items()},
                PAUSE_EDGES,
                unit="ms",
                max_per_person=dp.max_values_per_person,
                epsilon=eps,
            )
        )
        out.append(
            dp_sums(
                f"{group}/app_time",
                {p: dict(a.app_seconds) for p, a in mine.items()},
                categories,
                bound=dp.max_seconds_per_person,
                epsilon=eps,
            )
        )
    return out
