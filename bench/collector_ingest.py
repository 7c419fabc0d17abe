"""Collector ingest: a load generator on loopback against one `workprint serve` process.

Simulates ``--devices`` enrolled devices (default 200, all concurrent, asyncio + httpx) sending
realistic recorder output — ~90% coalesced mouse moves along strokes at ~60 Hz, key down/up pairs
with characters, clicks, scrolls, focus changes with titles — as msgpack + zstd, exactly as the
uploader sends it, in uploads of ``--batch-min``..``--batch-max`` events. The uploader polls every
2 s and joins the batches its spool holds into one upload of at most 5,000 events
(``spool/uploader.py``), so a device offering 500 events/s (200 devices × 500 = 100,000 events/s)
sends uploads of ~1,000 events, and one catching up after an outage sends 5,000; the default
1,000–3,000 covers both. ``--big 300 --big-batches N`` adds a phase of small uploads (what each
spooled batch alone would be) to show the per-request cost. The collector runs on the real
embedded store, which makes every batch durable (fsync) before it acknowledges.

Phases, one after the other on the same server:

- ``--rates R1,R2,…``: each device sends one batch every ``devices × mean batch / R`` seconds for
  ``--phase-s`` seconds, so the offered load is R events/s (open loop per device: a device whose
  previous batch is still in flight sends the next one as soon as it is acknowledged);
- ``--saturate N``: every device sends N batches back to back (closed loop: as fast as acked);
- ``--big B --big-batches N``: the same with B-event batches.

Per phase: events/s acknowledged, batch latency p50/p99 from the first attempt to the 200 (429
retries included), 429 answers, CPU of the collector process and of the load generator (they share
the machine's cores). At the end: every acknowledged event is checked to be stored exactly once;
stored bytes per event (every file of the store directory, metadata included) after the load,
after ``--settle`` idle seconds (background compaction), and after ``compact`` of every day (what
`workprint admin compact` does nightly); and, in the same run on the same events, a baseline that
writes them as plain JSON lines with an fsync per batch. Payloads are prepared before the clock.

usage: .venv/bin/python bench/collector_ingest.py [--devices 200] [--rates 50000,100000]
       [--batch-min 1000 --batch-max 3000] [--phase-s 15] [--saturate 5]
       [--big 300 --big-batches 5] [--dir D]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import zstandard

from workprint.crypto.envelope import FileMasterKey
from workprint.events import SCOPES, Event, decode_batch, encode_batch, encode_jsonl
from workprint.spool.wire import BATCH_CONTENT_TYPE, BATCH_ID_HEADER
from workprint.store.embedded import EmbeddedStore
from workprint.store.interface import ConsentRecord
from workprint.testbed.synthetic_events import device_output

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Batch:
    batch_id: str
    body: bytes  # msgpack + zstd, as the uploader sends it
    first_seq: int
    n: int


@dataclass
class Device:
    person_id: str
    token: str
    stream: Iterator[Event]
    seq: int = 0
    acked: list[tuple[int, int]] = field(default_factory=list)  # (first seq, n) acknowledged


@dataclass
class Phase:
    name: str
    offered: float | None  # events/s, None for closed loop
    batches: dict[int, list[Batch]] = field(default_factory=dict)  # device index → its batches
    interval: float | None = None
    latencies: list[float] = field(default_factory=list)
    events: int = 0
    too_busy: int = 0
    errors: list[str] = field(default_factory=list)
    elapsed: float = 0.0
    server_cpu: float = 0.0
    client_cpu: float = 0.0


_compress = zstandard.ZstdCompressor(level=3)


def make_batch(device: Device, n: int) -> Batch:
    events = [next(device.stream) for _ in range(n)]
    for i, event in enumerate(events):
        event.seq = device.seq + i
    batch = Batch(uuid.uuid4().hex, _compress.compress(encode_batch(events)), device.seq, n)
    device.seq += n
    return batch


def enrol(data: Path, key: Path, n: int, seed: int) -> list[Device]:
    store = EmbeddedStore.open(data, FileMasterKey(key))
    devices = []
    try:
        for i in range(n):
            person = store.add_person(f"bench-{i}", "subject")
            grant = ConsentRecord(t=1, action="grant", scopes=SCOPES, policy_version=1)
            store.record_consent(person.id, grant)
            code = store.create_enrollment_code(person.id)
            enrollment = store.redeem_enrollment_code(code, uuid.uuid4().hex)
            stream = device_output(
                random.Random(seed * 100_003 + i), 1_700_000_000 * 10**9 + i * 10**12
            )
            devices.append(Device(person.id, enrollment.token, stream))
    finally:
        store.close()
    return devices


def plan(args: argparse.Namespace, devices: list[Device]) -> list[Phase]:
    rng = random.Random(args.seed)
    mean = (args.batch_min + args.batch_max) / 2
    warmup = Phase("warm-up: one batch per device, not reported", None)
    warmup.batches = {i: [make_batch(d, args.batch_min)] for i, d in enumerate(devices)}
    phases = [warmup]
    for rate in args.rates:
        phase = Phase(f"paced {rate:,.0f} ev/s", rate, interval=len(devices) * mean / rate)
        count = max(1, round(args.phase_s / phase.interval))
        phases.append(phase)
        for i, d in enumerate(devices):
            sizes = [rng.randint(args.batch_min, args.batch_max) for _ in range(count)]
            phase.batches[i] = [make_batch(d, n) for n in sizes]
    if args.saturate:
        phase = Phase(f"saturated, {args.batch_min}-{args.batch_max}-event batches", None)
        phases.append(phase)
        for i, d in enumerate(devices):
            sizes = [rng.randint(args.batch_min, args.batch_max) for _ in range(args.saturate)]
            phase.batches[i] = [make_batch(d, n) for n in sizes]
    if args.big_batches:
        phase = Phase(f"saturated, {args.big}-event batches", None)
        phases.append(phase)
        for i, d in enumerate(devices):
            phase.batches[i] = [make_batch(d, args.big) for _ in range(args.big_batches)]
    return phases


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def run_phases(
    url: str, devices: list[Device], phases: list[Phase], pid: int, time_limit: float
) -> None:
    """Every phase in turn, on one client per device created beforehand (as real devices each
    have their own connection; creating 200 clients takes seconds of the generator's CPU)."""
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    clients = [httpx.AsyncClient(base_url=url, limits=limits, timeout=120) for _ in devices]
    try:
        await asyncio.gather(*(c.get("/healthz") for c in clients))  # connect
        for phase in phases:
            cpu0, own0 = cpu_seconds(pid), time.process_time()
            await drive(clients, devices, phase, time.monotonic() + time_limit)
            phase.server_cpu = cpu_seconds(pid) - cpu0
            phase.client_cpu = time.process_time() - own0
            print(
                f"{phase.name}: {phase.events / phase.elapsed:,.0f} ev/s, "
                f"p99 {percentile(phase.latencies, 0.99):.0f} ms",
                flush=True,
            )
    finally:
        await asyncio.gather(*(c.aclose() for c in clients))


async def drive(
    clients: list[httpx.AsyncClient], devices: list[Device], phase: Phase, deadline: float
) -> None:
    """Every device sends its batches of ``phase``; fills in the phase's measurements."""

    async def device_loop(index: int, device: Device, client: httpx.AsyncClient) -> None:
        start = origin + random.uniform(0, phase.interval or 0.0)
        headers = {
            "Authorization": f"Bearer {device.token}",
            "Content-Type": BATCH_CONTENT_TYPE,
            "Content-Encoding": "zstd",
        }
        for n, batch in enumerate(phase.batches[index]):
            if phase.interval is not None:
                await asyncio.sleep(max(0.0, start + n * phase.interval - time.monotonic()))
            if time.monotonic() > deadline:
                return
            started = time.perf_counter()
            while True:
                try:
                    response = await client.post(
                        "/v1/batches",
                        content=batch.body,
                        headers={**headers, BATCH_ID_HEADER: batch.batch_id},
                    )
                except httpx.HTTPError as exc:
                    phase.errors.append(repr(exc))
                    await asyncio.sleep(0.2)
                    continue
                if response.status_code == 200:
                    phase.latencies.append(time.perf_counter() - started)
                    phase.events += batch.n
                    device.acked.append((batch.first_seq, batch.n))
                    break
                if response.status_code not in (429, 503):
                    phase.errors.append(f"{response.status_code} {response.text[:200]}")
                    return
                phase.too_busy += 1
                await asyncio.sleep(float(response.headers.get("retry-after", "1")))

    origin = time.monotonic()
    started = time.perf_counter()
    await asyncio.gather(
        *(device_loop(i, d, c) for i, (d, c) in enumerate(zip(devices, clients, strict=True)))
    )
    phase.elapsed = time.perf_counter() - started


def serve(data: Path, key: Path, port: int) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "workprint", "serve", "--data", str(data)]
    command += ["--master-key", str(key), "--port", str(port), "--log-level", "warning"]
    proc = subprocess.Popen(command, cwd=ROOT)
    for _ in range(300):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("the collector did not start")


def jsonl_baseline(phases: list[Phase], path: Path) -> tuple[float, int, int]:
    """The same batches as JSON lines, one write + fsync per batch: (seconds, events, bytes)."""
    seconds, events = 0.0, 0
    with open(path, "wb") as handle:
        for phase in phases:
            for batches in phase.batches.values():
                for batch in batches:
                    decoded = decode_batch(zstandard.decompress(batch.body))
                    started = time.perf_counter()
                    handle.write(encode_jsonl(decoded))
                    handle.flush()
                    os.fsync(handle.fileno())
                    seconds += time.perf_counter() - started
                    events += len(decoded)
    return seconds, events, path.stat().st_size


def dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def verify(data: Path, key: Path, devices: list[Device]) -> tuple[int, int]:
    """(events stored, events lost or stored twice) against what was acknowledged."""
    stored = wrong = 0
    with EmbeddedStore.open(data, FileMasterKey(key)) as store:
        for device in devices:
            seqs = [
                s
                for t in store.read_events(device.person_id, actor="bench")
                for s in t.column("seq").to_pylist()
            ]
            expected = {s for first, n in device.acked for s in range(first, first + n)}
            stored += len(seqs)
            wrong += len(expected ^ set(seqs)) + len(seqs) - len(set(seqs))
    return stored, wrong


def compact_all(data: Path, key: Path) -> float:
    started = time.perf_counter()
    with EmbeddedStore.open(data, FileMasterKey(key)) as store:
        for day in store.days():
            store.compact(day)
    return time.perf_counter() - started


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] * 1000 if ordered else math.nan


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--devices", type=int, default=200)
    parser.add_argument("--batch-min", type=int, default=1000)
    parser.add_argument("--batch-max", type=int, default=3000)
    parser.add_argument(
        "--rates",
        type=lambda s: [float(r) for r in s.split(",") if r],
        default=[50_000.0, 100_000.0],
    )
    parser.add_argument("--phase-s", type=float, default=15.0)
    parser.add_argument("--saturate", type=int, default=5, help="batches per device, back to back")
    parser.add_argument("--big", type=int, default=5000)
    parser.add_argument("--big-batches", type=int, default=0)
    parser.add_argument("--settle", type=float, default=10.0, help="idle seconds before stopping")
    parser.add_argument("--time-limit", type=float, default=300.0, help="per phase")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--dir", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        root = Path(tmp)
        data, key = root / "store", root / "master.key"
        prep = time.perf_counter()
        devices = enrol(data, key, args.devices, args.seed)
        phases = plan(args, devices)
        n_batches = sum(len(b) for p in phases for b in p.batches.values())
        print(f"prepared {n_batches:,} batches in {time.perf_counter() - prep:.0f} s", flush=True)
        base_bytes = dir_bytes(data)
        with socket_port() as port:
            pass
        proc = serve(data, key, port)
        try:
            url = f"http://127.0.0.1:{port}"
            asyncio.run(run_phases(url, devices, phases, proc.pid, args.time_limit))
            loaded_bytes = dir_bytes(data) - base_bytes
            time.sleep(args.settle)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(120)
        settled_bytes = dir_bytes(data) - base_bytes
        stored, wrong = verify(data, key, devices)
        compact_s = compact_all(data, key)
        compacted_bytes = dir_bytes(data) - base_bytes
        base_s, base_events, base_size = jsonl_baseline(phases, root / "baseline.jsonl")
    sizes = {
        "while the collector ran (WAL included)": loaded_bytes,
        f"after {args.settle:g} s idle and a clean stop": settled_bytes,
        f"after compact of every day ({compact_s:.1f} s)": compacted_bytes,
    }
    print(report(args, phases[1:], stored, wrong, (base_s, base_events, base_size), sizes))


def report(
    args: argparse.Namespace,
    phases: list[Phase],
    stored: int,
    wrong: int,
    baseline: tuple[float, int, int],
    sizes: dict[str, int],
) -> str:
    base_s, base_events, base_size = baseline
    json_per_event = base_size / base_events
    lines = [
        f"- {args.devices} devices, batches of {args.batch_min}–{args.batch_max} events "
        f"(msgpack + zstd), one collector process on loopback, {os.cpu_count()} CPUs shared "
        "with the load generator",
        "",
        "| phase | offered ev/s | acked ev/s | p50 ms | p99 ms | 429s | collector CPU "
        "| load-gen CPU |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for p in phases:
        offered = f"{p.offered:,.0f}" if p.offered else "closed loop"
        p50, p99 = percentile(p.latencies, 0.5), percentile(p.latencies, 0.99)
        lines.append(
            f"| {p.name} | {offered} | {p.events / p.elapsed:,.0f} | {p50:.0f} | {p99:.0f} "
            f"| {p.too_busy} | {p.server_cpu / p.elapsed:.0%} | {p.client_cpu / p.elapsed:.0%} |"
        )
    lines += [
        f"| JSON lines baseline (fsync per batch) | | {base_events / base_s:,.0f} | | | | | |",
        "",
        f"- stored {stored:,} events; acknowledged but missing, or stored twice: {wrong}",
        f"- JSON lines: {json_per_event:.1f} B/event",
    ]
    for label, size in sizes.items():
        per_event = size / max(stored, 1)
        ratio = json_per_event / per_event
        lines.append(f"- stored {label}: {per_event:.2f} B/event ({ratio:.1f}× fewer)")
    errors = [e for p in phases for e in p.errors]
    if errors:
        lines.append(f"- {len(errors)} errors, first: {errors[0]}")
    return "\n".join(lines)


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
