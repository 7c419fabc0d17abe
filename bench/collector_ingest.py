"""Collector ingest throughput: a load generator on loopback against one `workprint serve`.

Simulates ``--devices`` enrolled devices (default 200, all concurrent, asyncio + httpx), each
uploading ``--batches`` batches of ``--batch`` events of realistic recorder output (the mix of
bench/spool_throughput.py: ~86% coalesced mouse moves along strokes, key down/up pairs, clicks,
scrolls, focus changes), msgpack + zstd exactly as the uploader sends them. The collector is one
process on the real embedded store, which fsyncs every batch before it acknowledges. Reported:
events/s for the collector process, p50/p99 batch latency, stored bytes per event (every file
of the store directory), a check that every event is stored exactly once, and — in the same run,
on the same events — a baseline that writes them as plain JSON lines, fsync per batch.
Payloads are prepared before the clock starts. Stops by itself (``--time-limit``).

usage: .venv/bin/python bench/collector_ingest.py [--devices 200] [--batches 10] [--batch 1000]
       [--time-limit 120] [--dir D] [--append-docs]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import zstandard

sys.path.insert(0, str(Path(__file__).resolve().parent))
from spool_throughput import recorder_output

from workprint.crypto.envelope import FileMasterKey
from workprint.events import SCOPES, Event, encode_batch, encode_jsonl
from workprint.spool.wire import BATCH_CONTENT_TYPE, BATCH_ID_HEADER
from workprint.store.embedded import EmbeddedStore
from workprint.store.interface import ConsentRecord

ROOT = Path(__file__).resolve().parents[1]


Batch = tuple[str, bytes, list[Event]]


@dataclass
class Device:
    person_id: str
    token: str
    bulk: list[Batch] = field(default_factory=list)  # sent as fast as the collector takes them
    live: list[Batch] = field(default_factory=list)  # sent at a recorder's pace


@dataclass
class Results:
    latencies: list[float] = field(default_factory=list)
    events: int = 0
    batches: int = 0
    retries: int = 0
    errors: list[str] = field(default_factory=list)
    acked: dict[str, int] = field(default_factory=dict)  # person → events acknowledged


def prepare(
    data: Path,
    key: Path,
    devices: int,
    batches: int,
    size: int,
    live: int,
    live_size: int,
    seed: int,
) -> list[Device]:
    """People, devices and consent on the store; every payload encoded and compressed."""
    store = EmbeddedStore.open(data, FileMasterKey(key))
    out: list[Device] = []
    rng = random.Random(seed)
    compressor = zstandard.ZstdCompressor(level=3)
    try:
        for n in range(devices):
            person = store.add_person(f"bench-{n}", "subject")
            store.record_consent(
                person.id, ConsentRecord(t=1, action="grant", scopes=SCOPES, policy_version=1)
            )
            enrollment = store.redeem_enrollment_code(
                store.create_enrollment_code(person.id), uuid.uuid4().hex
            )
            device = Device(person.id, enrollment.token)
            stream = recorder_output(rng, start_ns=1_700_000_000_000_000_000 + n * 10**12)
            seq = 0
            for target, count, n_events in (
                (device.bulk, batches, size),
                (device.live, live, live_size),
            ):
                for _ in range(count):
                    events = [next(stream) for _ in range(n_events)]
                    for event in events:
                        event.seq = seq
                        seq += 1
                    body = compressor.compress(encode_batch(events))
                    target.append((uuid.uuid4().hex, body, events))
            out.append(device)
    finally:
        store.close()
    return out


async def drive(
    url: str, devices: list[Device], deadline: float, results: Results, pace: float | None = None
) -> float:
    """Every device uploads its batches (``live`` ones every ``pace`` s, else ``bulk`` ones back
    to back); returns the seconds from the first send to the last acknowledgement."""
    limits = httpx.Limits(max_connections=len(devices) + 8, max_keepalive_connections=len(devices))
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=120) as client:

        async def device_loop(device: Device) -> None:
            batches = device.bulk if pace is None else device.live
            start = time.monotonic() + (random.uniform(0, pace) if pace else 0.0)
            for n, (batch_id, body, events) in enumerate(batches):
                if pace is not None:
                    await asyncio.sleep(max(0.0, start + n * pace - time.monotonic()))
                if time.monotonic() > deadline:
                    return
                headers = {
                    "Authorization": f"Bearer {device.token}",
                    "Content-Type": BATCH_CONTENT_TYPE,
                    "Content-Encoding": "zstd",
                    BATCH_ID_HEADER: batch_id,
                }
                while True:
                    started = time.perf_counter()
                    try:
                        response = await client.post("/v1/batches", content=body, headers=headers)
                    except httpx.HTTPError as exc:
                        results.retries += 1
                        results.errors.append(repr(exc))
                        await asyncio.sleep(0.2)
                        continue
                    if response.status_code == 200:
                        results.latencies.append(time.perf_counter() - started)
                        results.events += len(events)
                        results.batches += 1
                        results.acked[device.person_id] = results.acked.get(
                            device.person_id, 0
                        ) + len(events)
                        break
                    results.retries += 1
                    if response.status_code not in (429, 503):
                        results.errors.append(f"{response.status_code} {response.text[:200]}")
                        return
                    await asyncio.sleep(float(response.headers.get("retry-after", "1")))

        started = time.perf_counter()
        await asyncio.gather(*(device_loop(d) for d in devices))
        return time.perf_counter() - started


def serve(data: Path, key: Path, port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "workprint",
            "serve",
            "--data",
            str(data),
            "--master-key",
            str(key),
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
    )
    for _ in range(300):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("the collector did not start")


def jsonl_baseline(devices: list[Device], path: Path, limit: int) -> tuple[float, int, int]:
    """The same events (as many as the collector stored) as JSON lines, fsync per batch."""
    written = 0
    started = time.perf_counter()
    with open(path, "wb") as handle:
        for round_ in range(max(len(d.bulk) + len(d.live) for d in devices)):
            for device in devices:
                batches = device.bulk + device.live
                if round_ < len(batches) and written < limit:
                    events = batches[round_][2]
                    handle.write(encode_jsonl(events))
                    handle.flush()
                    os.fsync(handle.fileno())
                    written += len(events)
    return time.perf_counter() - started, written, path.stat().st_size


def percentiles(latencies: list[float]) -> tuple[float, float]:
    """p50 and p99 in milliseconds."""
    if not latencies:
        return float("nan"), float("nan")
    ordered = sorted(latencies)
    return statistics.median(ordered) * 1000, ordered[int(len(ordered) * 0.99)] * 1000


def dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def verify(data: Path, key: Path, devices: list[Device], sent: dict[str, int]) -> tuple[int, int]:
    """(stored events, events missing or stored twice), compared per device with what was
    acknowledged, after the collector stopped (a batch acknowledged is a batch durable)."""
    store = EmbeddedStore.open(data, FileMasterKey(key))
    stored = bad = 0
    try:
        for device in devices:
            seqs: list[int] = []
            for table in store.read_events(device.person_id, actor="bench"):
                seqs.extend(table.column("seq").to_pylist())
            stored += len(seqs)
            expected = sent.get(device.person_id, 0)
            bad += abs(len(set(seqs)) - expected) + (len(seqs) - len(set(seqs)))
    finally:
        store.close()
    return stored, bad


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", type=int, default=200)
    parser.add_argument("--batches", type=int, default=10)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--live-batches", type=int, default=10)
    parser.add_argument("--live-batch", type=int, default=100)
    parser.add_argument("--pace", type=float, default=1.0)
    parser.add_argument("--time-limit", type=float, default=120)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--dir", type=Path, default=None)
    parser.add_argument("--append-docs", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        root = Path(tmp)
        data, key = root / "store", root / "master.key"
        devices = prepare(
            data,
            key,
            args.devices,
            args.batches,
            args.batch,
            args.live_batches,
            args.live_batch,
            args.seed,
        )
        base_bytes = dir_bytes(data)
        with socket_port() as port:
            pass
        proc = serve(data, key, port)
        url = f"http://127.0.0.1:{port}"
        results, live = Results(), Results()
        try:
            deadline = time.monotonic() + args.time_limit
            elapsed = asyncio.run(drive(url, devices, deadline, results))
            live_elapsed = asyncio.run(
                drive(url, devices, deadline + args.time_limit, live, args.pace)
            )
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(60)
        stored_bytes = dir_bytes(data) - base_bytes
        acked = {p: results.acked.get(p, 0) + live.acked.get(p, 0) for p in results.acked}
        stored, wrong = verify(data, key, devices, acked)
        base_s, base_events, base_size = jsonl_baseline(devices, root / "baseline.jsonl", stored)
    p50, p99 = percentiles(results.latencies)
    live_p50, live_p99 = percentiles(live.latencies)
    rate = results.events / elapsed
    offered = args.devices * args.live_batch / args.pace
    report = "\n".join(
        [
            f"- load: {args.devices} concurrent devices × up to {args.batches} batches × "
            f"{args.batch} events (msgpack+zstd), one collector process, loopback, "
            f"{os.cpu_count()} CPUs shared with the load generator",
            f"- saturation: {results.batches} batches, {results.events:,} events acknowledged in "
            f"{elapsed:.1f} s, 429 answers retried: {results.retries}",
            f"- recorder pace: each device one batch of {args.live_batch} events every "
            f"{args.pace:g} s ({offered:,.0f} events/s offered): {live.batches} batches, "
            f"retries: {live.retries}",
            f"- stored {stored:,} events, all acknowledged ones; lost or duplicated: {wrong}",
            "",
            "| | events/s | p50 batch ms | p99 batch ms | bytes/event stored |",
            "|---|---:|---:|---:|---:|",
            f"| collector, saturated (fsync per batch) | {rate:,.0f} | {p50:.0f} | {p99:.0f} | "
            f"{stored_bytes / max(stored, 1):.2f} |",
            f"| collector, recorder pace | {live.events / live_elapsed:,.0f} | "
            f"{live_p50:.0f} | {live_p99:.0f} | |",
            f"| JSON lines baseline (fsync per batch) | {base_events / base_s:,.0f} | – | – | "
            f"{base_size / max(base_events, 1):.2f} |",
            "",
            f"Stored bytes: {base_size / max(stored_bytes, 1):.1f}× fewer than JSON lines.",
        ]
    )
    print(report)
    if results.errors:
        print(f"{len(results.errors)} errors, first: {results.errors[0]}")
    if args.append_docs:
        command = "`.venv/bin/python bench/collector_ingest.py " + " ".join(sys.argv[1:]) + "`"
        with open(ROOT / "docs" / "performance.md", "a", encoding="utf-8") as docs:
            docs.write(f"\n## Collector ingest\n\n{command}\n\n{report}\n")


class socket_port:
    """A free loopback port (closed again before the collector binds it)."""

    def __enter__(self) -> int:
        import socket

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        port: int = self.sock.getsockname()[1]
        return port

    def __exit__(self, *exc: object) -> None:
        self.sock.close()


if __name__ == "__main__":
    main()
