"""S3Blobs against the local moto server: write/read rate and latency of event-file sized
objects from several threads, and the cost of a garbage-collection listing.

    .venv/bin/python bench/s3_blobs.py                       # 2000 blobs of 16 KiB, 8 threads
    .venv/bin/python bench/s3_blobs.py --blobs 500 --size 1048576 --threads 4

moto is a Python server sharing this machine's 2 cores with the client, so the figures bound
what the client path (signing, HTTP, conditional PUT) costs here; they say nothing about the
throughput of MinIO, Ceph or AWS S3, which is far higher per bucket.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from workprint.store.embedded import files
from workprint.store.objects import S3Blobs
from workprint.testbed.s3 import S3Server


def timed(fn: Callable[[str], object], rels: list[str], threads: int) -> tuple[float, list[float]]:
    """Run ``fn`` over ``rels`` with ``threads`` workers; (wall seconds, per-call seconds)."""

    def one(rel: str) -> float:
        started = time.perf_counter()
        fn(rel)
        return time.perf_counter() - started

    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        latencies = list(pool.map(one, rels))
    return time.perf_counter() - started, latencies


def report(name: str, wall: float, latencies: list[float], size: int) -> None:
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    rate = len(latencies) / wall
    print(
        f"{name:>6}: {rate:8.1f} objects/s  {rate * size / 1e6:7.2f} MB/s"
        f"  p50 {statistics.median(ordered) * 1e3:6.1f} ms  p99 {p99 * 1e3:6.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blobs", type=int, default=2000)
    parser.add_argument("--size", type=int, default=16 * 1024, help="bytes per blob")
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()

    with S3Server() as server:
        server.create_bucket("wp-bench")
        blobs = S3Blobs.from_url("s3://wp-bench/store", server.environ())
        payload = os.urandom(args.size)
        rels = [
            files.relative_path(f"2026-09-{1 + i % 28:02d}", f"b{i % 50:02d}", files.new_file_id())
            for i in range(args.blobs)
        ]
        print(f"{args.blobs} blobs of {args.size} bytes, {args.threads} threads, moto on loopback")
        wall, latencies = timed(lambda rel: blobs.write(rel, payload), rels, args.threads)
        report("write", wall, latencies, args.size)
        wall, latencies = timed(blobs.read, rels, args.threads)
        report("read", wall, latencies, args.size)

        started = time.perf_counter()
        total = blobs.total_bytes()
        listing = time.perf_counter() - started
        print(f"  list: {args.blobs} objects ({total} bytes) in {listing * 1e3:.0f} ms")
        started = time.perf_counter()
        removed = blobs.collect_garbage(set(rels[: args.blobs // 2]), min_age_s=0)
        gc_ms = (time.perf_counter() - started) * 1e3
        print(f"    gc: removed {removed} of {args.blobs} in {gc_ms:.0f} ms")


if __name__ == "__main__":
    main()
