"""Embedded store ingest throughput and size, on realistic recorder output.

Builds N events (default 1,000,000; the same stream as bench/spool_throughput.py: ~96% mouse
moves along smooth strokes, typing bursts with characters, clicks, scrolls, window changes with
titles), turns them into Arrow tables of B events (default 2,000; not timed), then times
``EmbeddedStore.ingest`` alone — validation, (device, seq) de-duplication, consent check,
Parquet encoding, AES-GCM sealing, file + directory fsync and the SQLite commit (WAL,
synchronous=FULL) — from T threads (default 1), each a device of its own person sending its
share of the batches back to back: concurrent batches share group commits. Prints events/s,
per-batch latency, batches per group commit, stored bytes per event (sealed event files; and
with the metadata database) against the same events as JSON Lines — as ingested (background
merges included) and after ``compact`` — and the read-back rate.

usage: .venv/bin/python bench/store_ingest.py [--events N] [--batch B] [--threads T] [--seed S]
       [--dir D]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import threading
import time
from pathlib import Path

from spool_throughput import recorder_output

from workprint.crypto.envelope import FileMasterKey
from workprint.events import SCOPES, encode_jsonl
from workprint.events.columnar import events_to_table
from workprint.store.embedded import EmbeddedStore
from workprint.store.interface import ConsentRecord, Principal


def run(n_events: int, batch_size: int, threads: int, seed: int, directory: Path) -> None:
    stream = recorder_output(random.Random(seed), start_ns=1_700_000_000_000_000_000)
    events = [next(stream) for _ in range(n_events)]
    for seq, event in enumerate(events):
        event.seq = seq
    jsonl_bytes = len(encode_jsonl(events))
    tables = [events_to_table(events[i : i + batch_size]) for i in range(0, n_events, batch_size)]
    del events

    master = FileMasterKey(directory / "master.key")
    data = directory / "data"
    latencies: list[float] = []
    with EmbeddedStore.open(data, master) as store:
        grant = ConsentRecord(t=0, action="grant", scopes=SCOPES, policy_version=1)
        principals: list[Principal] = []
        for n in range(threads):
            person = store.add_person(f"Bench {n}", "subject")
            code = store.create_enrollment_code(person.id)
            principal = store.authenticate(store.redeem_enrollment_code(code, f"dev{n}").token)
            assert principal is not None
            store.record_consent(person.id, grant)
            principals.append(principal)

        def work(n: int) -> None:
            for i in range(n, len(tables), threads):
                started = time.perf_counter()
                result = store.ingest(principals[n], f"batch-{i}", tables[i])
                latencies.append(time.perf_counter() - started)
                assert result.accepted == tables[i].num_rows, result

        workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
        started = time.perf_counter()
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        total_s = time.perf_counter() - started
        groups, items = store.group_commit.groups, store.group_commit.items
    with EmbeddedStore.open(data, master) as store:  # closed and reopened: WAL checkpointed
        batched = store.stats()
        days = store.days()
        started = time.perf_counter()
        for day in days:
            store.compact(day)
        compact_s = time.perf_counter() - started
    with EmbeddedStore.open(data, master) as store:
        compacted = store.stats()
        started = time.perf_counter()
        read = sum(
            t.num_rows for p in principals for t in store.read_events(p.person_id, actor="bench")
        )
        read_s = time.perf_counter() - started
    assert read == n_events == batched.events == compacted.events

    per_event = jsonl_bytes / n_events
    latencies.sort()
    print(f"events          {n_events:,} in {len(tables)} batches of {batch_size} (seed {seed})")
    print(
        f"ingest          {n_events / total_s:,.0f} events/s from {threads} thread(s) "
        f"({total_s:.2f} s; batch p50 {statistics.median(latencies) * 1e3:.1f} ms, p99 "
        f"{latencies[int(0.99 * (len(latencies) - 1))] * 1e3:.1f} ms; "
        f"{items / max(groups, 1):.1f} batches per group commit)"
    )
    print(f"JSON Lines      {per_event:.1f} B/event")
    for label, stats in (("as ingested", batched), ("after compact", compacted)):
        files_b = stats.event_bytes / n_events
        with_meta = (stats.event_bytes + stats.metadata_bytes) / n_events
        print(
            f"{label:<15} {files_b:.2f} B/event in {stats.files} sealed files "
            f"({per_event / files_b:.1f}x smaller than JSONL); with metadata db "
            f"{with_meta:.2f} B/event ({per_event / with_meta:.1f}x)"
        )
    print(f"compact         {n_events / compact_s:,.0f} events/s ({len(days)} days)")
    print(f"read back       {read / read_s:,.0f} events/s (decrypt + decode to Arrow, sorted)")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=2_000)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--dir", type=Path, help="keep the store here (default: a temp dir)")
    args = parser.parse_args()
    if args.dir is not None:
        args.dir.mkdir(parents=True, exist_ok=True)
        if (args.dir / "data").exists():
            parser.error(f"{args.dir / 'data'} exists; the benchmark wants a fresh store")
        run(args.events, args.batch, args.threads, args.seed, args.dir)
        return
    with tempfile.TemporaryDirectory(prefix="wp-bench-", dir=os.environ.get("TMPDIR")) as tmp:
        run(args.events, args.batch, args.threads, args.seed, Path(tmp))


if __name__ == "__main__":
    main()
