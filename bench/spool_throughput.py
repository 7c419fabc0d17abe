"""Spool write throughput on realistic, already-coalesced recorder output.

Appends N events (default 1,000,000; ~96% MouseMove at ~60 Hz along smooth strokes, the rest
typing with key down/up pairs, clicks, scrolls and window changes) in batches of 250, with a
fixed seed, and prints events/s, MB/s of plaintext (msgpack) and the spool's bytes per event
(sealed payload and on-disk file), then the read-back rate. Event generation is not timed.

usage: .venv/bin/python bench/spool_throughput.py [--events N] [--batch B] [--seed S] [--dir D]
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from workprint.events import (
    Event,
    encode_jsonl,
)
from workprint.spool import Spool
from workprint.spool.schema import file_bytes
from workprint.testbed.synthetic_events import MOUSE_HEAVY, device_output


def recorder_output(rng: random.Random, start_ns: int) -> Iterator[Event]:
    """An endless, plausible stream: strokes of coalesced moves, typing bursts, clicks."""
    return device_output(rng, start_ns, mix=MOUSE_HEAVY)


def run(n_events: int, batch_size: int, seed: int, directory: Path) -> None:
    rng = random.Random(seed)
    stream = recorder_output(rng, start_ns=1_700_000_000_000_000_000)
    path = directory / "spool.db"
    key = random.Random(seed + 1).randbytes(32)
    counts: dict[str, int] = {}
    raw_bytes = jsonl_bytes = written = 0
    append_s = 0.0
    with Spool.open(path, key, device_id="b" * 32, max_bytes=2**40) as spool:
        while written < n_events:
            batch = [next(stream) for _ in range(min(batch_size, n_events - written))]
            for event in batch:
                name = type(event).__name__
                counts[name] = counts.get(name, 0) + 1
            started = time.perf_counter()
            info = spool.append(batch)
            append_s += time.perf_counter() - started
            assert info is not None
            raw_bytes += info.raw_bytes
            jsonl_bytes += len(encode_jsonl(batch))
            written += len(batch)
        stats = spool.stats()
    on_disk = file_bytes(path)  # after close: WAL checkpointed into the database

    started = time.perf_counter()
    with Spool.open(path, key, device_id="b" * 32, max_bytes=2**40) as spool:
        opened_s = time.perf_counter() - started
        read = sum(1 for _ in spool.iter_events())
    read_s = time.perf_counter() - started - opened_s
    assert read == n_events == stats.events

    mix = ", ".join(f"{k} {100 * v / n_events:.1f}%" for k, v in sorted(counts.items()))
    print(f"events          {n_events:,} in batches of {batch_size} (seed {seed})")
    print(f"mix             {mix}")
    print(f"append          {n_events / append_s:,.0f} events/s  ({append_s:.2f} s)")
    print(
        f"plaintext       {raw_bytes / append_s / 1e6:.1f} MB/s msgpack "
        f"({raw_bytes / n_events:.1f} B/event; JSONL would be {jsonl_bytes / n_events:.1f})"
    )
    print(
        f"spool payload   {stats.payload_bytes / n_events:.2f} B/event "
        f"({stats.payload_bytes / 1e6:.1f} MB, {raw_bytes / stats.payload_bytes:.1f}x smaller)"
    )
    print(f"spool on disk   {on_disk / n_events:.2f} B/event ({on_disk / 1e6:.1f} MB, db+wal+shm)")
    print(f"reopen          {opened_s * 1000:.0f} ms")
    print(f"read back       {read / read_s:,.0f} events/s (iter_events, decrypt + decode)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=250)
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--dir", type=Path, help="keep the spool here (default: a temp dir)")
    args = parser.parse_args()
    if args.dir is not None:
        args.dir.mkdir(parents=True, exist_ok=True)
        if (args.dir / "spool.db").exists():
            parser.error(f"{args.dir / 'spool.db'} exists; the benchmark wants a fresh spool")
        run(args.events, args.batch, args.seed, args.dir)
        return
    with tempfile.TemporaryDirectory(prefix="wp-bench-", dir=os.environ.get("TMPDIR")) as tmp:
        run(args.events, args.batch, args.seed, Path(tmp))


if __name__ == "__main__":
    main()
