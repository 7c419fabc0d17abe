"""Collector scale-out: ingest events/s with 1, 2 and 4 `workprint serve` processes on one store.

For each collector count (``--collectors 1,2,4``) the same enrolled devices (``--devices``, ≥ 200)
upload realistic recorder output (msgpack + zstd, as the uploader sends it) in a closed loop —
every device sends its next batch as soon as the previous one is acknowledged, so the collectors
are saturated — for ``--duration`` seconds, through a round-robin "load balancer" with failover
(``workprint.testbed.fleet``). Backends:

- ``--backend shared`` (default): a private PostgreSQL started here with
  ``shared_preload_libraries=pg_stat_statements`` and moto's S3 server, both on 127.0.0.1;
- ``--backend embedded``: the collectors share one SQLite + files directory, for comparison.

Per configuration: events/s acknowledged, batch latency p50/p99 (first attempt → 200, retries
included), 429/503 answers, CPU of the collectors, of the load generator and (shared) of PostgreSQL
and the S3 server, each as a share of one core; on the shared backend PostgreSQL round-trips per
acknowledged batch (sum of ``calls`` in ``pg_stat_statements`` over the run, our own statistics
queries excluded) and transactions per batch (``pg_stat_database.xact_commit``). At the end every
acknowledged event is checked to be stored exactly once. The machine's load (`uptime`) is printed
first: the collectors share its cores with the load generator, the servers and anyone else.

usage: .venv/bin/python bench/collectors_scale.py [--backend shared|embedded] [--collectors 1,2,4]
       [--devices 200] [--duration 20] [--batch-min 100] [--batch-max 300] [--prebuild 15]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psutil  # type: ignore[import-untyped]

from workprint.crypto.envelope import FileMasterKey
from workprint.store.backends import open_store
from workprint.store.interface import Store
from workprint.testbed.fleet import (
    CollectorProcesses,
    DeviceFleet,
    EnrolledDevice,
    FleetSummary,
    enroll_fleet,
    verify_exactly_once,
)
from workprint.testbed.postgres import PostgresServer
from workprint.testbed.s3 import S3Server

BUCKET = "bench"


@dataclass
class Backend:
    """Where the collectors keep their data, and how to watch the servers behind them."""

    data: Path
    master_key: Path
    serve_args: list[str]
    serve_env: dict[str, str]
    postgres: PostgresServer | None = None
    s3: S3Server | None = None
    database: str | None = None
    objects: str | None = None

    def open_store(self) -> Store:
        store: Store = open_store(
            self.data, FileMasterKey(self.master_key), database=self.database, objects=self.objects
        )
        return store

    def server_pids(self) -> list[int]:
        """PostgreSQL's postmaster and the S3 server (their children are counted with them)."""
        pids = []
        if self.postgres is not None:
            pids.append(int((self.postgres.data_dir / "postmaster.pid").read_text().split()[0]))
        if self.s3 is not None:
            for conn in psutil.net_connections(kind="tcp"):
                if conn.status == "LISTEN" and conn.laddr and conn.laddr.port == self.s3.port:
                    pids.append(conn.pid or 0)
        return [p for p in pids if p]


@dataclass
class Result:
    collectors: int
    summary: FleetSummary
    collector_cpu_s: float
    generator_cpu_s: float
    server_cpu_s: float | None
    statements: int | None
    transactions: int | None


@contextmanager
def backend(kind: str, root: Path) -> Iterator[Backend]:
    data, key = root / "data", root / "master.key"
    if kind == "embedded":
        yield Backend(data, key, [], {})
        return
    settings = {"shared_preload_libraries": "pg_stat_statements"}
    with PostgresServer(settings=settings) as postgres, S3Server() as s3:
        s3.create_bucket(BUCKET)
        os.environ.update(s3.environ())  # the in-process store (enrolment, verification) too
        sql(postgres, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        objects = f"s3://{BUCKET}/events"
        args = ["--database", postgres.url, "--objects", objects]
        yield Backend(data, key, args, s3.environ(), postgres, s3, postgres.url, objects)


def sql(postgres: PostgresServer, statement: str) -> list[tuple[object, ...]]:
    """One statement as the superuser, on its own connection (not counted: it is excluded)."""
    import psycopg

    with psycopg.connect(postgres.admin_url, autocommit=True) as conn:
        cursor = conn.execute(statement)
        return cursor.fetchall() if cursor.description else []


STATEMENT_CALLS = (
    "SELECT coalesce(sum(calls), 0)::bigint FROM pg_stat_statements s "
    "JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = current_database() "
    "AND s.query NOT ILIKE '%pg_stat%'"
)
COMMITS = "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"


def tree_cpu_seconds(pids: list[int]) -> dict[int, float]:
    """CPU seconds of each process of the trees rooted at ``pids`` (by pid)."""
    seconds = {}
    for pid in pids:
        try:
            root = psutil.Process(pid)
            for proc in (root, *root.children(recursive=True)):
                times = proc.cpu_times()
                seconds[proc.pid] = times.user + times.system
        except psutil.NoSuchProcess:
            continue
    return seconds


def measure(
    setup: Backend, devices: list[EnrolledDevice], count: int, args: argparse.Namespace, logs: Path
) -> tuple[Result, DeviceFleet]:
    with CollectorProcesses(
        count,
        setup.data,
        setup.master_key,
        log_dir=logs / f"{count}-collectors",
        extra_args=setup.serve_args,
        env=setup.serve_env,
    ) as collectors:
        fleet = DeviceFleet(
            collectors.urls,
            devices,
            batch_events=(args.batch_min, args.batch_max),
            seed=count,
            connections_per_collector=args.connections,
        )
        fleet.prebuild(args.prebuild)
        if setup.postgres is not None:
            sql(setup.postgres, "SELECT pg_stat_statements_reset()")
            commits0 = int(str(sql(setup.postgres, COMMITS)[0][0]))
        servers0 = tree_cpu_seconds(setup.server_pids())
        collectors0 = tree_cpu_seconds(collectors.pids())
        own0 = time.process_time()
        summary = fleet.run(args.duration, rate=None, drain_s=args.drain)
        own = time.process_time() - own0
        collector_cpu = _delta(collectors0, tree_cpu_seconds(collectors.pids()))
        server_cpu = _delta(servers0, tree_cpu_seconds(setup.server_pids()))
        statements = transactions = None
        if setup.postgres is not None:
            statements = int(str(sql(setup.postgres, STATEMENT_CALLS)[0][0]))
            transactions = int(str(sql(setup.postgres, COMMITS)[0][0])) - commits0
        collectors.stop()
    has_servers = setup.postgres is not None
    result = Result(
        count,
        summary,
        collector_cpu,
        own,
        server_cpu if has_servers else None,
        statements,
        transactions,
    )
    return result, fleet


def _delta(before: dict[int, float], after: dict[int, float]) -> float:
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())


def table(results: list[Result], backend_kind: str) -> str:
    lines = [
        "| collectors | acked ev/s | batches/s | p50 ms | p99 ms | 429 / 503 | collectors CPU "
        "| load-gen CPU | PG + S3 CPU | PG statements / batch | PG xacts / batch |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        s = r.summary
        per_core = 1 / s.elapsed_s
        batches = max(s.acked_batches, 1)
        servers = "–" if r.server_cpu_s is None else f"{r.server_cpu_s * per_core:.0%}"
        statements = "–" if r.statements is None else f"{r.statements / batches:.1f}"
        transactions = "–" if r.transactions is None else f"{r.transactions / batches:.2f}"
        lines.append(
            f"| {r.collectors} | {s.events_acked / s.elapsed_s:,.0f} "
            f"| {s.acked_batches / s.elapsed_s:,.1f} | {s.latency_ms(0.5):,.0f} "
            f"| {s.latency_ms(0.99):,.0f} | {s.outcomes['429']} / {s.outcomes['503']} "
            f"| {r.collector_cpu_s * per_core:.0%} | {r.generator_cpu_s * per_core:.0%} "
            f"| {servers} | {statements} | {transactions} |"
        )
    return "\n".join(lines) + f"\n\n(backend: {backend_kind}; CPU as a share of one core)"


def load_line() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "load average " + Path("/proc/loadavg").read_text().strip()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=(__doc__ or "").split("\n\n")[0],
        epilog="".join((__doc__ or "").split("\n\n", 1)[1:]),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--backend", choices=("shared", "embedded"), default="shared")
    parser.add_argument(
        "--collectors",
        type=lambda s: [int(n) for n in s.split(",") if n],
        default=[1, 2, 4],
        help="collector process counts to measure, comma-separated (default 1,2,4)",
    )
    parser.add_argument("--devices", type=int, default=200, help="simulated devices (default 200)")
    parser.add_argument("--devices-per-person", type=int, default=4)
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per configuration")
    parser.add_argument("--drain", type=float, default=120.0, help="seconds to finish in flight")
    parser.add_argument("--batch-min", type=int, default=100)
    parser.add_argument("--batch-max", type=int, default=300)
    parser.add_argument("--prebuild", type=int, default=15, help="batches per device encoded ahead")
    parser.add_argument(
        "--connections", type=int, default=64, help="load-balancer connections per collector"
    )
    parser.add_argument("--dir", type=Path, default=None, help="where the temporary store goes")
    args = parser.parse_args()
    if args.devices < 1 or not args.collectors or min(args.collectors) < 1:
        parser.error("--devices and every --collectors count must be at least 1")
    print(f"load at start: {load_line()}", flush=True)
    with (
        tempfile.TemporaryDirectory(dir=args.dir) as tmp,
        backend(args.backend, Path(tmp)) as setup,
    ):
        # new people for each configuration: the check at the end then reads each person's
        # events once, not every configuration's events once per configuration
        people = -(-args.devices // args.devices_per_person)
        store = setup.open_store()
        try:
            fleets_devices = [
                enroll_fleet(store, people, args.devices_per_person, name=f"bench{n}")
                for n in range(len(args.collectors))
            ]
        finally:
            store.close()
        results, fleets = [], []
        for count, enrolled in zip(args.collectors, fleets_devices, strict=True):
            devices = enrolled[: args.devices]
            result, fleet = measure(setup, devices, count, args, Path(tmp) / "logs")
            s = result.summary
            print(
                f"{count} collector(s): {s.events_acked / s.elapsed_s:,.0f} ev/s, "
                f"p99 {s.latency_ms(0.99):,.0f} ms",
                flush=True,
            )
            results.append(result)
            fleets.append(fleet)
        print("checking every acknowledged event is stored exactly once…", flush=True)
        store = setup.open_store()
        try:
            checks = [verify_exactly_once(store, fleet) for fleet in fleets]
        finally:
            store.close()
    print(
        f"\n- {args.devices} devices, closed loop, batches of {args.batch_min}–{args.batch_max} "
        f"events (msgpack + zstd), {args.duration:g} s per configuration, "
        f"{os.cpu_count()} CPUs shared by everything\n"
    )
    print(table(results, args.backend))
    for result, check in zip(results, checks, strict=True):
        verdict = "exactly once" if check.exactly_once else "NOT EXACTLY ONCE"
        print(
            f"- {result.collectors} collector(s): sent {check.sent:,}, acked {check.acked:,}, "
            f"stored {check.stored:,}, lost {check.lost}, duplicated {check.duplicated}: {verdict}"
        )


if __name__ == "__main__":
    main()
