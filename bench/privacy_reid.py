"""Re-identification of typists before and after the timing anonymiser, and its throughput.

Runs ``evaluate_reid`` (every classifier and feature set, leave-one-session-out, every session
a probe once, ``--repeats`` anonymisation draws pooled, 95% intervals) on the keystroke CSV
(default: ../shared/data/keystroke-timing/fixed_text.csv, 60 people x 4 sessions) for four
anonymisers: the strict profile (the default), the utility profile (speed within 10% by
randomised rounding, pause positions kept), the speed-first profile (speed times a uniform
factor within 10%, only the pause count kept) and, as the strawman the design answers, random
per-key delays (uniform 0-100 ms added to each press, Kloak-style). For the speed-keeping
profiles it also reports the best attack on typing speed alone (``speed`` features): what a
10% speed budget leaves an attacker. Then anonymiser throughput in keys/s on the data
replicated to ``--rows`` rows, and mouse-path throughput in points/s.

    .venv/bin/python bench/privacy_reid.py [FILE.csv] [--seed 1] [--repeats 3] [--rows 1000000]
        [--json out] [--only strict,speed-first]
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pv

from workprint.privacy.timing import (
    UTILITY_SPEED_TOLERANCE,
    ReidReport,
    anonymize_keystrokes,
    anonymize_mouse_paths,
    evaluate_reid,
)
from workprint.privacy.timing.features import session_features
from workprint.privacy.timing.reid import run_attack, session_folds
from workprint.privacy.timing.sessions import FloatArray, keystroke_sessions
from workprint.privacy.timing.settings import CLASSIFIERS, FEATURE_SETS
from workprint.privacy.timing.significance import interval, verdict

DEFAULT_FILE = Path(__file__).resolve().parents[2] / "shared/data/keystroke-timing/fixed_text.csv"


def random_delays(table: pa.Table, seed: int) -> pa.Table:
    """Kloak-style: each press (and its release) later by a uniform 0-100 ms, order kept."""
    rng = np.random.default_rng(seed)
    press = np.asarray(table.column("timepress"), dtype=np.float64)
    release = np.asarray(table.column("timerelease"), dtype=np.float64)
    delay = rng.uniform(0, 100, len(press))
    users = table.column("user").to_pylist()
    sessions = table.column("session").to_pylist()
    new_press = press + delay
    # Keep each session's press order: a press may not overtake the one before it.
    for i in range(1, len(press)):
        if users[i] == users[i - 1] and sessions[i] == sessions[i - 1]:
            new_press[i] = max(new_press[i], new_press[i - 1] + 1)
    new_release = new_press + (release - press)
    out = table.set_column(3, "timepress", pa.array(new_press))
    return out.set_column(4, "timerelease", pa.array(new_release))


def speed_alone(report: ReidReport) -> str:
    """The best attack on typing speed alone per scenario, with its interval and verdict."""
    lines = ["typing speed alone (log ms per key), best classifier:"]
    for scenario in ("raw", "anonymised_vs_raw_trained", "anonymised_vs_anonymised_trained"):
        best = max(
            (r for r in report.results if r.scenario == scenario and r.features == "speed"),
            key=lambda r: r.accuracy,
        )
        low, high = best.ci95
        lines.append(
            f"  {scenario:<34} {best.accuracy:6.1%} ({low:.1%}-{high:.1%}) "
            f"{best.accuracy / report.chance:5.2f}x chance, {verdict(low, high, report.target)} "
            f"2x chance  [{best.classifier}, {best.correct}/{best.probes}]"
        )
    return "\n".join(lines)


def speed_budget_study(table: pa.Table, draws: int, seed: int) -> str:
    """The best attack on typing speed alone when each session's speed may move by at most
    10%, for three ways of spending that budget (the whole anonymiser does no better: every
    other timing is redrawn from other people). If even speed alone stays significantly above
    2x chance, no anonymiser that keeps speed within 10% can reach the target on this data."""
    sessions = keystroke_sessions(table)
    features = session_features(sessions)
    log_ms = features.columns("speed")  # log ms per key; a speed ratio r adds -log(r)
    person, folds = features.person, session_folds(features.person)
    people = len(features.person_names)
    down, up = math.log(1 - UTILITY_SPEED_TOLERANCE), math.log1p(UTILITY_SPEED_TOLERANCE)
    rng = np.random.default_rng(seed)

    def uniform(x: FloatArray) -> FloatArray:
        return x + rng.uniform(down, up, x.shape)

    def two_point(x: FloatArray) -> FloatArray:  # the largest error variance the bound allows
        return x + np.where(rng.random(x.shape) < 0.5, down, up)

    def bucket(x: FloatArray) -> FloatArray:  # a 20%-wide grid, one random offset per release
        step = up - down
        offset = rng.random() * step
        return offset + step * np.round((x - offset) / step)

    lines = [f"typing speed alone, speed moved within 10% ({draws} draws, best of 5 classifiers):"]
    target = 2.0 / people
    for name, perturb in (("uniform", uniform), ("two-point", two_point), ("20% bucket", bucket)):
        for trained in ("raw", "perturbed"):
            best: tuple[float, str, tuple[float, float], int, int] | None = None
            for classifier in CLASSIFIERS:
                correct = np.zeros(people, dtype=np.int64)
                for draw in range(draws):
                    probe = perturb(log_ms)
                    train = log_ms if trained == "raw" else probe
                    hit = run_attack(classifier, train, probe, person, folds, draw)
                    correct += np.bincount(person[hit], minlength=people)
                tries = draws * np.bincount(person[folds >= 0], minlength=people)
                accuracy = correct.sum() / tries.sum()
                if best is None or accuracy > best[0]:
                    ci = interval(correct, tries.astype(np.int64), seed)
                    best = (accuracy, classifier, ci, int(correct.sum()), int(tries.sum()))
            assert best is not None
            accuracy, classifier, (low, high), hits, probes = best
            lines.append(
                f"  {name:<11} trained on {trained:<9} {accuracy:6.1%} ({low:.1%}-{high:.1%}) "
                f"{accuracy * people:5.2f}x chance, {verdict(low, high, target)} 2x chance "
                f"[{classifier}, {hits}/{probes}]"
            )
    return "\n".join(lines)


def replicated(table: pa.Table, rows: int) -> pa.Table:
    """The table repeated, each copy's users relabelled, to at least ``rows`` rows."""
    copies = max(1, -(-rows // table.num_rows))
    parts = []
    for copy in range(copies):
        users = pa.array([f"{copy}:{u}" for u in table.column("user").to_pylist()])
        parts.append(table.set_column(0, "user", users))
    return pa.concat_tables(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", nargs="?", type=Path, default=DEFAULT_FILE)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", help="comma-separated profile keys (default: all)")
    args = parser.parse_args()
    table = pv.read_csv(args.file)
    table = table.set_column(0, "user", table.column("user").cast(pa.string()))
    table = table.set_column(1, "session", table.column("session").cast(pa.string()))
    results: dict[str, Any] = {"file": str(args.file), "rows": table.num_rows}

    profiles = {
        "strict": ("strict (default)", lambda t, s: anonymize_keystrokes(t, seed=s)),
        "utility": (
            "utility (--keep-speed 0.1 --keep-pauses)",
            lambda t, s: anonymize_keystrokes(
                t, seed=s, speed_tolerance=UTILITY_SPEED_TOLERANCE, keep_pauses=True
            ),
        ),
        "speed-first": (
            "speed-first (speed x uniform factor within 10%, pause count kept)",
            lambda t, s: anonymize_keystrokes(
                t,
                seed=s,
                speed_tolerance=UTILITY_SPEED_TOLERANCE,
                keep_pauses="count",
                speed_noise="uniform",
            ),
        ),
        "delays": ("random per-key delays 0-100 ms (strawman)", random_delays),
    }
    print(speed_budget_study(table, draws=10, seed=args.seed))
    wanted = args.only.split(",") if args.only else list(profiles)
    for key in wanted:
        name, anonymise = profiles[key]
        speed_only = key in ("utility", "speed-first")
        feature_sets = (*FEATURE_SETS, "speed") if speed_only else FEATURE_SETS
        started = time.perf_counter()
        report = evaluate_reid(
            table,
            seed=args.seed,
            anonymize=anonymise,
            repeats=args.repeats,
            feature_sets=feature_sets,
            floor=key == "strict",
        )
        print(f"\n== {name} ({time.perf_counter() - started:.0f} s)")
        print(report.table())
        if speed_only:
            print(speed_alone(report))
        results[name] = report.as_dict()
    big = replicated(table, args.rows)
    started = time.process_time()
    anonymize_keystrokes(big, seed=args.seed)
    seconds = time.process_time() - started
    print(
        f"\nanonymize_keystrokes: {big.num_rows:,} keys in {seconds:.2f} CPU s = "
        f"{big.num_rows / seconds:,.0f} keys/s"
    )
    results["keys_per_second"] = big.num_rows / seconds

    rng = np.random.default_rng(args.seed)
    points = args.rows
    mouse = pa.table(
        {
            "path": pa.array(np.arange(points) // 50),
            "t": pa.array(np.cumsum(rng.integers(1_000_000, 16_000_000, points))),
            "x": pa.array(rng.integers(0, 1920, points)),
            "y": pa.array(rng.integers(0, 1080, points)),
        }
    )
    started = time.process_time()
    anonymize_mouse_paths(mouse, seed=args.seed)
    seconds = time.process_time() - started
    print(
        f"anonymize_mouse_paths: {points:,} points in {seconds:.2f} CPU s = "
        f"{points / seconds:,.0f} points/s"
    )
    results["mouse_points_per_second"] = points / seconds
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
