"""Re-identification of typists before and after the timing anonymiser, and its throughput.

Runs ``evaluate_reid`` (every classifier and feature set, leave-one-session-out) on the
keystroke CSV (default: ../shared/data/keystroke-timing/fixed_text.csv, 60 people x 4
sessions) for three anonymisers: the strict profile (the default), the utility profile (speed
within 10%, pause positions kept) and, as the strawman the design answers, random per-key
delays (uniform 0-100 ms added to each press, Kloak-style). Then anonymiser throughput in keys/s
on the data replicated to ``--rows`` rows, and mouse-path throughput in points/s.

    .venv/bin/python bench/privacy_reid.py [FILE.csv] [--seed 1] [--rows 1000000] [--json out]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pv

from workprint.privacy.timing import (
    UTILITY_SPEED_TOLERANCE,
    anonymize_keystrokes,
    anonymize_mouse_paths,
    evaluate_reid,
)

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
    args = parser.parse_args()
    table = pv.read_csv(args.file)
    table = table.set_column(0, "user", table.column("user").cast(pa.string()))
    table = table.set_column(1, "session", table.column("session").cast(pa.string()))
    results: dict[str, Any] = {"file": str(args.file), "rows": table.num_rows}

    profiles = {
        "strict (default)": lambda t, s: anonymize_keystrokes(t, seed=s),
        "utility (--keep-speed 0.1 --keep-pauses)": lambda t, s: anonymize_keystrokes(
            t, seed=s, speed_tolerance=UTILITY_SPEED_TOLERANCE, keep_pauses=True
        ),
        "random per-key delays 0-100 ms (strawman)": random_delays,
    }
    for name, anonymise in profiles.items():
        started = time.perf_counter()
        report = evaluate_reid(table, seed=args.seed, anonymize=anonymise)
        print(f"\n== {name} ({time.perf_counter() - started:.0f} s)")
        print(report.table())
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
