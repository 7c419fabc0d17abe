"""Many simulated devices uploading to several collectors the way a load balancer spreads them.

Every device behaves like the agent's uploader: one batch in flight at a time, a batch id fixed
when the batch is made and never changed across retries, per-device sequence numbers, and on a
connection error, a timeout or a 5xx the same batch goes to the next collector after a backoff
with full jitter; 429 and 503 wait at least what ``Retry-After`` says. The "load balancer" is
round-robin per request with passive health checks (a collector that refused a connection is
skipped for a moment, as nginx's ``max_fails`` does). Everything that happened to every batch is
recorded, so a test can prove exactly-once delivery and a benchmark can report latency.
"""

from __future__ import annotations

import asyncio
import random
import ssl
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import httpx
import msgspec
import zstandard

from workprint.events import Event, encode_batch
from workprint.spool.uploader import backoff_delay, retry_after_seconds
from workprint.spool.wire import BATCH_CONTENT_TYPE, BATCH_ID_HEADER, BatchResult
from workprint.testbed.synthetic_events import device_output

# what one attempt can end in, besides an HTTP status ("200", "503", …)
CONNECT_ERROR = "connect-error"  # nobody listening: the collector is down
CONNECTION_LOST = "connection-lost"  # the collector died (or closed) mid-request
TIMEOUT = "timeout"


@dataclass
class EnrolledDevice:
    """A device credential from enrollment; ``next_seq`` carries on across fleets because the
    store deduplicates per (device, seq) — a second run starting again at 0 would be dropped."""

    person_id: str
    device_id: str
    name: str
    token: str
    next_seq: int = 0


@dataclass
class BatchRecord:
    """Everything that happened to one batch, from its first attempt to its acknowledgement."""

    device: int  # index into the fleet's devices
    batch_id: str
    session: str
    first_seq: int
    events: int
    attempts: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)  # "200", "503", CONNECT_ERROR, …
    retry_after_503: int = 0  # 503 answers that carried a Retry-After header
    collectors: list[int] = field(default_factory=list)  # which collector each attempt went to
    attempt_log: list[tuple[float, int, str]] = field(default_factory=list)  # (end s, collector,
    # outcome) of every attempt, seconds into the run
    acked: bool = False
    rejected: int = 0  # events the acknowledgement did not store (bad rows, consent)
    given_up: str | None = None  # why the device stopped trying (a 4xx, the drain deadline)
    latency_s: float | None = None  # first attempt → acknowledgement
    started_s: float = 0.0  # first attempt, seconds into the run

    def seqs(self) -> range:
        return range(self.first_seq, self.first_seq + self.events)


@dataclass
class FleetSummary:
    """Totals over every batch of a fleet, for assertions and tables."""

    batches: int
    acked_batches: int
    events_sent: int
    events_acked: int
    given_up: int
    outcomes: Counter[str]
    retry_after_503: int
    latencies_s: list[float]
    elapsed_s: float

    def latency_ms(self, q: float) -> float:
        """The ``q`` quantile of batch latency, in ms (nan without acknowledged batches)."""
        ordered = sorted(self.latencies_s)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, int(len(ordered) * q))] * 1000


@dataclass
class _DeviceState:
    enrolled: EnrolledDevice
    session: str
    stream: Iterator[Event]
    ready: deque[tuple[BatchRecord, bytes]] = field(default_factory=deque)


_COMPRESSOR = zstandard.ZstdCompressor(level=3)


class DeviceFleet:
    """N simulated devices in one asyncio process, uploading to ``urls`` (see module doc)."""

    def __init__(
        self,
        urls: Sequence[str],
        devices: Sequence[EnrolledDevice],
        *,
        batch_events: tuple[int, int] = (100, 300),
        seed: int = 8,
        request_timeout_s: float = 30.0,
        backoff_base_s: float = 0.2,
        backoff_cap_s: float = 5.0,
        eject_s: float = 1.0,
        connections_per_collector: int = 64,
        keepalive_s: float = 4.0,
    ) -> None:
        if not urls or not devices:
            raise ValueError("a fleet needs at least one collector URL and one device")
        self.urls = list(urls)
        self.batch_events = batch_events
        self.request_timeout_s = request_timeout_s
        self.backoff_base_s = backoff_base_s
        self.backoff_cap_s = backoff_cap_s
        self.eject_s = eject_s
        self.connections_per_collector = connections_per_collector
        # below uvicorn's 5 s: a connection the server is closing as idle is not reused (that
        # race costs a resend), as a load balancer's upstream keep-alive is set below the backend's
        self.keepalive_s = keepalive_s
        self.records: list[BatchRecord] = []
        self.actions_done: list[tuple[float, float, str]] = []  # (started, done, name), seconds
        self.elapsed_s = 0.0
        self._rng = random.Random(seed)
        base_t = time.time_ns() - 3600 * 10**9  # an hour ago: inside consent, no clock skew
        self._devices = []
        for i, device in enumerate(devices):
            session = uuid.UUID(int=self._rng.getrandbits(128)).hex  # new per fleet: (session,
            # seq) names this fleet's events in the store, whose rows do not carry the device
            stream = device_output(random.Random(self._rng.random()), base_t + i * 10**7, session)
            self._devices.append(_DeviceState(device, session, stream))
        self._next_collector = 0
        self._down_until = [0.0] * len(self.urls)
        self.in_flight = [0] * len(self.urls)  # requests awaiting an answer, per collector
        self._started = time.monotonic()
        self._free: list[asyncio.Queue[httpx.AsyncClient]] = []  # per collector, idle clients

    @property
    def devices(self) -> list[EnrolledDevice]:
        return [d.enrolled for d in self._devices]

    def sessions(self) -> dict[str, int]:
        """Session id → device index: how a stored row is traced back to its device."""
        return {d.session: i for i, d in enumerate(self._devices)}

    def prebuild(self, batches_per_device: int) -> None:
        """Encode batches ahead of the run, so the load generator's CPU goes to sending."""
        for index in range(len(self._devices)):
            for _ in range(batches_per_device):
                self._devices[index].ready.append(self._make_batch(index))

    def run(
        self,
        duration_s: float,
        *,
        rate: float | None = None,
        drain_s: float = 60.0,
        actions: Sequence[tuple[float, str, Callable[[], object]]] = (),
    ) -> FleetSummary:
        """Upload for ``duration_s`` (new batches stop then; batches already made are retried
        until acknowledged or ``drain_s`` later) at ``rate`` events/s over all devices, or as
        fast as acknowledged (closed loop) when ``rate`` is None. ``actions`` are (seconds into
        the run, name, call) — faults to inject — run in a worker thread."""
        asyncio.run(self._run(duration_s, rate, drain_s, actions))
        return self.summary()

    def summary(self) -> FleetSummary:
        acked = [r for r in self.records if r.acked]
        outcomes: Counter[str] = Counter()
        for record in self.records:
            outcomes.update(record.outcomes)
        return FleetSummary(
            batches=len(self.records),
            acked_batches=len(acked),
            events_sent=sum(r.events for r in self.records),
            events_acked=sum(r.events for r in acked),
            given_up=sum(1 for r in self.records if r.given_up),
            outcomes=outcomes,
            retry_after_503=sum(r.retry_after_503 for r in self.records),
            latencies_s=[r.latency_s for r in acked if r.latency_s is not None],
            elapsed_s=self.elapsed_s,
        )

    def wait_until_busy(self, collector: int, timeout_s: float = 10.0) -> bool:
        """Block (in an action's thread) until ``collector`` has a request in flight, so a fault
        injected next lands mid-request; False if none came within ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        while self.in_flight[collector] == 0:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.001)
        return True

    # -- internals ------------------------------------------------------------------------------

    def _make_batch(self, index: int) -> tuple[BatchRecord, bytes]:
        state = self._devices[index]
        n = self._rng.randint(*self.batch_events)
        events = [next(state.stream) for _ in range(n)]
        first = state.enrolled.next_seq
        for offset, event in enumerate(events):
            event.seq = first + offset
        state.enrolled.next_seq += n
        record = BatchRecord(index, uuid.uuid4().hex, state.session, first, n)
        return record, _COMPRESSOR.compress(encode_batch(events))

    async def _run(
        self,
        duration_s: float,
        rate: float | None,
        drain_s: float,
        actions: Sequence[tuple[float, str, Callable[[], object]]],
    ) -> None:
        # one client per connection, handed out through a queue: httpcore's own pool hands freed
        # connections to waiting requests at O(waiting × connections) per request, which took
        # most of the generator's CPU with 200 devices; one shared TLS context (unused on http)
        # because building one per client costs milliseconds each
        timeout = httpx.Timeout(self.request_timeout_s)
        limits = httpx.Limits(
            max_connections=1, max_keepalive_connections=1, keepalive_expiry=self.keepalive_s
        )
        tls = ssl.create_default_context()
        self._free, clients = [], []
        for url in self.urls:
            queue: asyncio.Queue[httpx.AsyncClient] = asyncio.Queue()
            for _ in range(self.connections_per_collector):
                client = httpx.AsyncClient(base_url=url, timeout=timeout, limits=limits, verify=tls)
                clients.append(client)
                queue.put_nowait(client)
            self._free.append(queue)
        mean = sum(self.batch_events) / 2
        interval = None if rate is None else len(self._devices) * mean / rate
        started = self._started = time.monotonic()
        stop_at, drain_at = started + duration_s, started + duration_s + drain_s
        try:
            tasks = [
                self._device_loop(i, interval, started, stop_at, drain_at)
                for i in range(len(self._devices))
            ]
            tasks += [self._action(at, name, call, started) for at, name, call in actions]
            await asyncio.gather(*tasks)
        finally:
            self.elapsed_s = time.monotonic() - started
            await asyncio.gather(*(c.aclose() for c in clients))

    async def _action(
        self, at: float, name: str, call: Callable[[], object], started: float
    ) -> None:
        await asyncio.sleep(max(0.0, started + at - time.monotonic()))
        begun = time.monotonic() - started
        await asyncio.to_thread(call)
        self.actions_done.append((begun, time.monotonic() - started, name))

    async def _device_loop(
        self,
        index: int,
        interval: float | None,
        started: float,
        stop_at: float,
        drain_at: float,
    ) -> None:
        state = self._devices[index]
        headers = {
            "Authorization": f"Bearer {state.enrolled.token}",
            "Content-Type": BATCH_CONTENT_TYPE,
            "Content-Encoding": "zstd",
        }
        first = started + (random.uniform(0, interval) if interval else 0.0)
        number = 0
        while True:
            due = first + number * interval if interval is not None else time.monotonic()
            if due >= stop_at or time.monotonic() >= stop_at:
                return
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            record, body = state.ready.popleft() if state.ready else self._make_batch(index)
            self.records.append(record)
            await self._deliver(record, body, headers, drain_at)
            number += 1

    def _pick_collector(self) -> int:
        """Round-robin over the collectors not recently found down (all, if all are)."""
        now = time.monotonic()
        count = len(self.urls)
        for _ in range(count):
            candidate = self._next_collector
            self._next_collector = (self._next_collector + 1) % count
            if self._down_until[candidate] <= now:
                return candidate
        candidate = self._next_collector
        self._next_collector = (self._next_collector + 1) % count
        return candidate

    async def _deliver(
        self,
        record: BatchRecord,
        body: bytes,
        headers: dict[str, str],
        drain_at: float,
    ) -> None:
        """Send one batch until it is acknowledged, refused for good, or the drain deadline."""
        headers = {**headers, BATCH_ID_HEADER: record.batch_id}
        first_attempt = time.perf_counter()
        record.started_s = time.monotonic() - self._started
        failures = 0
        while True:
            if time.monotonic() >= drain_at:
                record.given_up = "drain deadline passed"
                return
            collector = self._pick_collector()
            record.attempts += 1
            record.collectors.append(collector)
            try:
                client = await self._free[collector].get()
                self.in_flight[collector] += 1
                try:
                    response = await client.post("/v1/batches", content=body, headers=headers)
                finally:
                    self.in_flight[collector] -= 1
                    self._free[collector].put_nowait(client)
            except httpx.ConnectError:
                outcome = CONNECT_ERROR
                self._down_until[collector] = time.monotonic() + self.eject_s
            except httpx.TimeoutException:
                outcome = TIMEOUT
            except httpx.TransportError:
                outcome = CONNECTION_LOST
                self._down_until[collector] = time.monotonic() + self.eject_s
            else:
                outcome = str(response.status_code)
            record.outcomes[outcome] += 1
            record.attempt_log.append((time.monotonic() - self._started, collector, outcome))
            if outcome == "200":
                if self._acknowledge(record, response):
                    record.latency_s = time.perf_counter() - first_attempt
                return
            failures += 1
            wait = backoff_delay(failures, base=self.backoff_base_s, cap=self.backoff_cap_s)
            if outcome in ("429", "503"):
                after = retry_after_seconds(response.headers.get("retry-after"))
                if outcome == "503" and after is not None:
                    record.retry_after_503 += 1
                # at least Retry-After, spread by up to a fifth so retries do not all land at once
                wait = (after if after is not None else 1.0) * random.uniform(1.0, 1.2)
            elif outcome.isdigit() and not outcome.startswith("5"):
                record.given_up = f"{outcome}: {response.text[:200]}"
                return
            await asyncio.sleep(min(wait, max(0.0, drain_at - time.monotonic())))

    @staticmethod
    def _acknowledge(record: BatchRecord, response: httpx.Response) -> bool:
        try:
            result = msgspec.json.decode(response.content, type=BatchResult)
        except msgspec.DecodeError as exc:
            record.given_up = f"200 with an unreadable answer: {exc}"
            return False
        if result.batch_id != record.batch_id:
            record.given_up = f"200 naming batch {result.batch_id}, not {record.batch_id}"
            return False
        record.acked = True
        record.rejected = result.rejected
        return True
