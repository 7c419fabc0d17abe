"""Re-identification figures for a release's own keystroke timings, and the check they feed.

A release that publishes per-key times (writing edits) has them re-timed by
``anonymize_keystrokes``. Whether that worked *on this data* is measured here with the attack
of ``workprint.privacy.timing.evaluate_reid``: the release's raw key times (relative, before
anonymising) against the anonymised ones actually written, closed-set top-1 identification with
leave-one-session-out folds. Cheap settings keep it bounded: one classifier and feature set
(scaled-Manhattan nearest centroid on the full features: the strongest of the fast attacks when
there are no hold times, which writing edits do not have), at most ``MAX_PEOPLE`` people and
``MAX_SESSIONS`` sessions each.

The check blocks when the stronger anonymised attack beats chance by more than the policy's
``fields.max_reid_ratio``. When the attack cannot run (fewer than ``MIN_PEOPLE`` people with
two sessions), the report says why and quotes the anonymiser's reference figures measured on
fixed_text.csv, labelled as not this release's.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from workprint.privacy.timing import significance
from workprint.release.policy import ReleasePolicy
from workprint.release.registry import Check
from workprint.release.timing import ReleasedTimings

CLASSIFIER: Final = "centroid"
FEATURES: Final = "full"
MIN_KEYS: Final = 10  # shorter sessions carry too few flights to say anything
MIN_PEOPLE: Final = 5  # below this, chance is so high that no ratio can mean much
MAX_PEOPLE: Final = 200
MAX_SESSIONS: Final = 8  # per person: the number of folds, so the run time stays bounded
ANONYMISED: Final = ("anonymised_vs_raw_trained", "anonymised_vs_anonymised_trained")
SCENARIOS: Final = ("raw", *ANONYMISED, "timing_free_floor")

# Quoted from docs/privacy-timing.md ("Figures", strict profile); shown only when this
# release's own figures cannot be measured.
REFERENCE: Final[dict[str, Any]] = {
    "label": "reference figures of the anonymiser, NOT this release's",
    "data": "fixed_text.csv: 60 people × 4 sessions × 100 keys (240 probes × 3 draws), seed 1",
    "command": ".venv/bin/python bench/privacy_reid.py --repeats 3 --rows 200000",
    "source": "docs/privacy-timing.md",
    "attack": "best of 5 classifiers × 4 feature sets per scenario",
    "chance": 0.017,
    "raw": 0.812,
    "anonymised_vs_raw_trained": 0.025,
    "anonymised_vs_anonymised_trained": 0.033,
    "timing_free_floor": 0.038,
    "key_content_floor": 0.142,
}
MOUSE_NOT_MEASURED: Final = (
    "no multi-person mouse data set exists here to measure a mouse re-identification attack; "
    "the anonymiser's claim rests on construction (nothing of a path but its endpoints and "
    "duration survives), and movement time between the endpoints is kept and is a "
    "person-level signal"
)


def wilson_interval(correct: int, probes: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson score interval of an accuracy: small releases have few probes, and the
    steward should see how far the figure could be from the true rate."""
    if probes == 0:
        return (0.0, 1.0)  # nothing known (the evaluation's own interval says NaN)
    return significance.wilson_interval(correct, probes, z)


def eligible_sessions(raw: pa.Table, seed: int) -> tuple[npt.NDArray[np.bool_], str]:
    """Row mask of the sessions the attack uses, or an empty mask and why it cannot run.

    A session needs ``MIN_KEYS`` keys; a person needs two such sessions (one to train on, one
    to probe); the run needs ``MIN_PEOPLE`` such people. Of a person's sessions the
    ``MAX_SESSIONS`` longest are used, of the people at most ``MAX_PEOPLE`` drawn by ``seed``."""
    users = raw.column("user").to_pylist()
    sessions = raw.column("session").to_pylist()
    keys_per_session = Counter(zip(users, sessions, strict=True))
    long_enough: dict[str, list[tuple[int, str]]] = {}
    for (user, session), n in keys_per_session.items():
        if n >= MIN_KEYS:
            long_enough.setdefault(user, []).append((n, session))
    people = sorted(user for user, found in long_enough.items() if len(found) >= 2)
    if len(people) < MIN_PEOPLE:
        per_person = Counter(user for user, _ in keys_per_session)
        most = max(per_person.values(), default=0)
        why = (
            f"{len(people)} of {len(per_person)} people have ≥ 2 sessions of ≥ {MIN_KEYS} keys "
            f"(at most {most} session{'s' if most != 1 else ''} per person here); the attack "
            "trains on some of a person's sessions and probes another, so it needs ≥ 2 "
            f"sessions each from ≥ {MIN_PEOPLE} people"
        )
        return np.zeros(raw.num_rows, dtype=np.bool_), why
    if len(people) > MAX_PEOPLE:
        rng = np.random.default_rng(seed)
        people = sorted(rng.choice(people, MAX_PEOPLE, replace=False).tolist())
    chosen = {
        (user, session)
        for user in people
        for _, session in sorted(long_enough[user], reverse=True)[:MAX_SESSIONS]
    }
    mask = np.fromiter(
        ((u, s) in chosen for u, s in zip(users, sessions, strict=True)),
        dtype=np.bool_,
        count=raw.num_rows,
    )
    return mask, ""


def _figure(correct: int, probes: int, chance: float) -> dict[str, Any]:
    low, high = wilson_interval(correct, probes)
    accuracy = correct / probes if probes else 0.0
    return {
        "correct": correct,
        "probes": probes,
        "accuracy": round(accuracy, 4),
        "x_chance": round(accuracy / chance, 3) if chance else 0.0,
        "ci95": [round(low, 4), round(high, 4)],
    }


def measure(
    raw: pa.Table, anonymised: pa.Table, max_ratio: float, seed: int | None
) -> dict[str, Any]:
    """The attack on this release's keys: raw vs the anonymised times actually written."""
    import secrets

    from workprint.privacy.timing import evaluate_reid

    seed = secrets.randbits(32) if seed is None else seed
    mask, why = eligible_sessions(raw, seed)
    if why:
        return {"measured": False, "why": why, "reference": REFERENCE}
    chosen = pa.array(mask)
    raw_part, anonymised_part = raw.filter(chosen), anonymised.filter(chosen)
    report = evaluate_reid(
        raw_part,
        seed=seed,
        classifiers=(CLASSIFIER,),
        feature_sets=(FEATURES,),
        anonymize=lambda _table, _seed: anonymised_part,
        floor=True,
    )
    chance = report.chance
    figures = {
        name: _figure(report.best(name).correct, report.best(name).probes, chance)
        for name in SCENARIOS
    }
    people_in_release = len(pc.unique(raw.column("user")))
    return {
        "measured": True,
        "data": "this release's sessions: raw key times (relative ms) vs the anonymised times "
        "written in the release",
        "attack": f"{CLASSIFIER}/{FEATURES} (scaled-Manhattan nearest centroid on mean flight "
        "per key and digraph and session statistics), closed set, leave-one-session-out",
        "seed": report.seed,
        "people": report.people,
        "people_in_release": people_in_release,
        "sessions": report.sessions,
        "probes": report.probes,
        "chance": round(chance, 4),
        **figures,
        "anonymised_x_chance": max(figures[name]["x_chance"] for name in ANONYMISED),
        "max_reid_ratio": max_ratio,
        "utility": _finite(report.utility.as_dict()) if report.utility else None,
    }


def _finite(values: dict[str, float | int]) -> dict[str, float | int | None]:
    """NaN (e.g. a speed error with no session of two keys) is not JSON: it becomes null."""
    return {k: v if math.isfinite(v) else None for k, v in values.items()}


def _reason(figures: dict[str, Any], max_ratio: float) -> tuple[bool, str]:
    worst = max(ANONYMISED, key=lambda name: figures[name]["x_chance"])
    shown = figures[worst]
    ratio = shown["x_chance"]
    text = (
        f"{worst} {shown['accuracy']:.1%} ({shown['correct']}/{shown['probes']}) = {ratio:g}× "
        f"chance {figures['chance']:.1%}"
    )
    if ratio <= max_ratio:
        return True, f"{text} ≤ max_reid_ratio {max_ratio:g} (raw {figures['raw']['accuracy']:.1%})"
    floor = figures["timing_free_floor"]
    why = (
        f"; the timing-free floor is {floor['x_chance']:g}× chance too: the key sequence "
        "itself identifies, dropping timings would not remove that"
        if floor["x_chance"] > max_ratio
        else ""
    )
    return False, f"{text} > max_reid_ratio {max_ratio:g}{why}"


def reid_section(
    kind: str,
    policy: ReleasePolicy,
    timings: ReleasedTimings,
    timing_error: str,
    seed: int | None,
) -> tuple[dict[str, Any], Check]:
    """The report's ``keystroke_timing`` and ``mouse_paths`` figures and the check."""
    fields = policy.fields
    done = "drop" if timing_error else fields.timing
    section: dict[str, Any] = {"mouse_paths": _mouse_section(kind, done, timings)}
    if timing_error:
        why = f"not measured: no key timings published ({timing_error}; timings dropped)"
        section["keystroke_timing"] = {"measured": False, "why": why}
        return section, Check(name="reidentification", passed=True, reason=why)
    if timings.raw_keys is None or timings.anonymised_keys is None:
        why = (
            "no per-key timings published (timings dropped by the policy)"
            if fields.timing == "drop" and kind == "writing"
            else f"no per-key timings in a {kind} release (its times are rounded to 100 ms)"
        )
        section["keystroke_timing"] = {"measured": False, "why": why}
        return section, Check(name="reidentification", passed=True, reason=why)
    figures = measure(timings.raw_keys, timings.anonymised_keys, fields.max_reid_ratio, seed)
    section["keystroke_timing"] = figures
    if not figures["measured"]:
        reason = (
            f"not measured on this release: {figures['why']}; falls back to the anonymiser's "
            "reference figures on fixed_text.csv (anonymised ≤ 2.25× chance; not this release's)"
        )
        return section, Check(name="reidentification", passed=True, reason=reason)
    passed, reason = _reason(figures, fields.max_reid_ratio)
    return section, Check(name="reidentification", passed=passed, reason=reason)


def _mouse_section(kind: str, timing: str, timings: ReleasedTimings) -> dict[str, Any]:
    if kind != "actions":
        return {"applies": False, "why": f"a {kind} release has no mouse paths"}
    if timing == "drop":
        return {"applies": True, "done": "mouse paths dropped (path columns emptied)"}
    return {
        "applies": True,
        "paths": timings.mouse_paths,
        "done": f"endpoints kept exactly (position and time), {timings.mouse_paths} approach "
        "paths re-synthesised by anonymize_mouse_paths: the points in between replaced by a "
        "minimum-jerk movement on a randomly bent arc, evenly spaced in time",
        "measured": False,
        "why": MOUSE_NOT_MEASURED,
    }
