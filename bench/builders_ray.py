"""The actions builder in-process vs on Ray Data (1 and 2 workers) on the same ≥ 10-million-event
dataset: events/s, and the CPU cost per million events.

    .venv/bin/python bench/builders_ray.py                          # 10 M events, 400 sessions
    .venv/bin/python bench/builders_ray.py --events 2000000 --workers 1,2

The dataset is the action reducer benchmark's synthetic workforce (bench/actions_throughput.py:
pointer approaches, clicks, drags, wheel bursts, typing, hotkeys, window switches; ~91% mouse),
written straight to Parquet, one file per session (a session shard, as an object-store event
table would hold them). The step is the whole ``workprint build actions`` step (reduce, split
episodes, label). Each phase runs in its own process:

- ``inprocess``: the in-process executor reads each shard and runs the step, one at a time.
- ``ray-files N``: a fresh local Ray cluster of N worker CPUs; the workers read the shards
  themselves (``RayExecutor.map_files``, the object-store path).
- ``ray-tables N``: the driver reads each shard and hands the table to Ray
  (``RayExecutor.map_batches``, the path ``workprint build --executor ray`` takes).

Ray phases start their cluster and warm it up on two shards before the clock starts (the
start-up time is printed apart). CPU time is that of the whole process tree — driver, Ray's
GCS, raylet and workers — during the timed run, so Ray's own overhead is in the cost. Every
phase's output is compared with the in-process one (Arrow ``equals``, in order).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil  # type: ignore[import-untyped]
import pyarrow as pa
import pyarrow.parquet as pq
from actions_throughput import TYPES, session_table

from workprint.builders.executor import InProcessExecutor
from workprint.builders.pipeline import settings
from workprint.builders.ray_executor import RayCluster, RayExecutor, read_shard


def generate(directory: Path, events: int, per_session: int, seed: int) -> dict[str, Any]:
    """One Parquet file per session; the event count and mix."""
    total = mouse = 0
    sessions = max(1, events // per_session)
    for number in range(sessions):
        table = session_table(number, per_session, seed)
        pq.write_table(table, directory / f"session-{number:05d}.parquet", compression="zstd")
        total += table.num_rows
        types = table.column("type").cast(pa.string()).to_numpy(zero_copy_only=False)
        mouse += int(sum((types == name).sum() for name in TYPES[:4]))
    return {"events": total, "sessions": sessions, "mouse_share": round(mouse / total, 3)}


def tree_cpu() -> float:
    """CPU seconds of this process and every live descendant (Ray's processes included)."""
    me = psutil.Process()
    total = 0.0
    for process in [me, *me.children(recursive=True)]:
        try:
            times = process.cpu_times()
        except psutil.Error:
            continue
        total += times.user + times.system
    return total


def run_phase(phase: str, workers: int, directory: Path, out: Path) -> dict[str, Any]:
    step, _ = settings("actions", [])
    paths = sorted(str(p) for p in directory.glob("*.parquet"))
    started = 0.0
    if phase == "inprocess":

        def outputs() -> Any:
            return InProcessExecutor().map_batches(step, (read_shard(p) for p in paths))

        cluster = None
    else:
        t0 = time.perf_counter()
        cluster = RayCluster(workers, object_store_bytes=2 * 2**30).__enter__()
        executor = RayExecutor()
        list(executor.map_files(step, paths[:2]))  # workers started, step shipped once
        started = time.perf_counter() - t0

        def outputs() -> Any:
            if phase == "ray-files":
                return executor.map_files(step, paths)
            return executor.map_batches(step, (read_shard(p) for p in paths))

    load = os.getloadavg()[0]
    cpu0, wall0 = tree_cpu(), time.perf_counter()
    built = list(outputs())
    wall, cpu = time.perf_counter() - wall0, tree_cpu() - cpu0
    if cluster is not None:
        cluster.__exit__(None, None, None)
    events = sum(pq.ParquetFile(p).metadata.num_rows for p in paths)
    with pq.ParquetWriter(out, built[0].schema) as writer:  # for the identity check
        for table in built:
            writer.write_table(table)
    return {
        "phase": phase,
        "workers": workers,
        "events": events,
        "actions": sum(t.num_rows for t in built),
        "startup_s": round(started, 1),
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "events_per_s": round(events / wall),
        "cpu_s_per_million": round(cpu / events * 1e6, 3),
        "wall_s_per_million": round(wall / events * 1e6, 3),
        "load_1min_before": round(load, 2),
        "load_1min_after": round(os.getloadavg()[0], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--per-session", type=int, default=25_000)
    parser.add_argument("--seed", type=int, default=20_241_105)
    parser.add_argument("--workers", default="1,2", help="Ray worker counts to run, e.g. 1,2")
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--dir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        print(json.dumps(run_phase(args.phase, args.n, args.dir, args.out)))
        return
    uptime = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    print(f"machine: {os.cpu_count()} cores; uptime: {uptime}", flush=True)
    with tempfile.TemporaryDirectory(prefix="wp-bench-") as tmp:
        shards = Path(tmp) / "shards"
        shards.mkdir()
        t0 = time.perf_counter()
        mix = generate(shards, args.events, args.per_session, args.seed)
        print(
            f"generated {mix['events']:,} events in {mix['sessions']} session shards "
            f"in {time.perf_counter() - t0:.0f} s; mouse {mix['mouse_share']:.1%}",
            flush=True,
        )
        phases = [("inprocess", 0)]
        for n in (int(w) for w in args.workers.split(",")):
            phases += [("ray-files", n), ("ray-tables", n)]
        results = []
        for phase, n in phases:
            out = Path(tmp) / f"{phase}-{n}.parquet"
            cmd = [sys.executable, __file__, "--phase", phase, "--n", str(n)]
            cmd += ["--dir", str(shards), "--out", str(out)]
            done = subprocess.run(cmd, check=True, capture_output=True, text=True)
            result = json.loads(done.stdout.strip().splitlines()[-1])
            same = pq.read_table(out).equals(pq.read_table(Path(tmp) / "inprocess-0.parquet"))
            result["identical_to_inprocess"] = same
            results.append(result)
            print(json.dumps(result), flush=True)
        base = results[0]["events_per_s"]
        print("\n| executor | workers | events/s | vs in-process | CPU-s per M events "
              "| wall-s per M events | cluster start | load before→after |")  # fmt: skip
        print("|---|---:|---:|---:|---:|---:|---:|---|")
        for r in results:
            print(
                f"| {r['phase']} | {r['workers'] or '—'} | {r['events_per_s']:,} "
                f"| {r['events_per_s'] / base:.2f}× | {r['cpu_s_per_million']} "
                f"| {r['wall_s_per_million']} | {r['startup_s']} s "
                f"| {r['load_1min_before']}→{r['load_1min_after']} |"
            )
        uptime = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
        print(f"\nuptime after: {uptime}")
        if not all(r["identical_to_inprocess"] for r in results):
            raise SystemExit("a Ray build differs from the in-process build")


if __name__ == "__main__":
    main()
