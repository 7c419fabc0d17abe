"""A fleet of collectors and devices on one machine, for scale-out tests, benchmarks and demos.

- ``CollectorProcesses``: N real ``workprint serve`` processes on free loopback ports, all on one
  store (the same ``--data`` and ``--master-key``, plus whatever ``serve`` arguments and
  environment select a backend), which can be killed (SIGKILL) and restarted one by one;
- ``enroll_fleet``: people and enrolled devices with every consent scope granted, made on the
  store in-process (the collectors need not be running);
- ``DeviceFleet`` (``workprint.testbed.device_fleet``): simulated devices uploading through a
  round-robin "load balancer" with retries and failover, recording every batch's fate;
- ``verify_exactly_once``: every acknowledged event stored exactly once, read back from the store.

The harness knows nothing of the backend: a test or benchmark passes ``extra_args``/``env`` to the
collectors and the matching store object to ``enroll_fleet`` and ``verify_exactly_once``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import httpx
import numpy as np
import pyarrow as pa

from workprint.events import SCOPES
from workprint.store.interface import ConsentRecord, Store
from workprint.testbed.device_fleet import BatchRecord, DeviceFleet, EnrolledDevice, FleetSummary
from workprint.testbed.ports import free_port

__all__ = [
    "BatchRecord",
    "CollectorProcesses",
    "CollectorStartError",
    "DeviceFleet",
    "EnrolledDevice",
    "EventReader",
    "ExactlyOnceReport",
    "FleetSummary",
    "enroll_fleet",
    "verify_exactly_once",
]


class CollectorStartError(RuntimeError):
    """A collector exited or never answered ``/healthz``; the message ends with its log."""


class CollectorProcesses:
    """N ``workprint serve`` subprocesses on one store; each keeps its port across restarts, so
    the load balancer's list of URLs stays valid. Output goes to ``log_dir/collector-I.log``."""

    def __init__(
        self,
        count: int,
        data_dir: Path,
        master_key: Path,
        *,
        log_dir: Path,
        extra_args: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
        host: str = "127.0.0.1",
        log_level: str = "warning",
        startup_timeout_s: float = 60.0,
    ) -> None:
        if count < 1:
            raise ValueError("at least one collector")
        self.data_dir, self.master_key, self.log_dir = data_dir, master_key, log_dir
        self.extra_args, self.host, self.log_level = list(extra_args), host, log_level
        self.startup_timeout_s = startup_timeout_s
        self.env = {k: v for k, v in os.environ.items() if k != "WORKPRINT_MASTER_KEY"}
        self.env.update(env or {})
        self.ports = [free_port(host) for _ in range(count)]
        self.urls = [f"http://{host}:{port}" for port in self.ports]
        self._procs: list[subprocess.Popen[bytes] | None] = [None] * count
        log_dir.mkdir(parents=True, exist_ok=True)

    def __enter__(self) -> CollectorProcesses:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __len__(self) -> int:
        return len(self.ports)

    def log_path(self, index: int) -> Path:
        return self.log_dir / f"collector-{index}.log"

    def start(self) -> None:
        """Start every collector that is not running, then wait until all answer."""
        waiting = [i for i in range(len(self)) if not self.alive(i)]
        for index in waiting:
            self._spawn(index)
        for index in waiting:
            self._wait_healthy(index)

    def pid(self, index: int) -> int:
        proc = self._procs[index]
        if proc is None:
            raise ValueError(f"collector {index} is not running")
        return proc.pid

    def pids(self) -> list[int]:
        return [p.pid for p in self._procs if p is not None and p.poll() is None]

    def alive(self, index: int) -> bool:
        proc = self._procs[index]
        return proc is not None and proc.poll() is None

    def kill(self, index: int) -> None:
        """SIGKILL: no request in flight is finished, nothing is closed — a crash."""
        proc = self._procs[index]
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait(30)

    def restart(self, index: int) -> None:
        """Kill (if running) and start again on the same port; returns once it answers."""
        self.kill(index)
        self._spawn(index)
        self._wait_healthy(index)

    def stop(self, timeout_s: float = 30.0) -> dict[int, int]:
        """SIGTERM every running collector (they finish requests in flight), SIGKILL any still
        running after ``timeout_s``; returns each stopped collector's exit status."""
        running = {i: p for i, p in enumerate(self._procs) if p is not None and p.poll() is None}
        for proc in running.values():
            proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        codes = {}
        for index, proc in running.items():
            try:
                codes[index] = proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                codes[index] = proc.wait(30)
        return codes

    def log_tail(self, index: int, chars: int = 3000) -> str:
        path = self.log_path(index)
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""

    def logs(self, chars: int = 3000) -> str:
        """Every collector's log tail, labelled: what to show when a test fails."""
        parts = [
            f"--- collector {i} ({self.urls[i]}) ---\n{self.log_tail(i, chars)}"
            for i in range(len(self))
        ]
        return "\n".join(parts)

    def _spawn(self, index: int) -> None:
        command = [sys.executable, "-m", "workprint", "serve", "--data", str(self.data_dir)]
        command += ["--master-key", str(self.master_key), "--host", self.host]
        command += ["--port", str(self.ports[index]), "--log-level", self.log_level]
        command += self.extra_args
        with open(self.log_path(index), "ab") as log:
            log.write(f"=== {time.strftime('%H:%M:%S')} {' '.join(command)}\n".encode())
            log.flush()
            self._procs[index] = subprocess.Popen(
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=self.env,
            )

    def _wait_healthy(self, index: int) -> None:
        proc = self._procs[index]
        assert proc is not None
        deadline = time.monotonic() + self.startup_timeout_s
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise CollectorStartError(
                    f"collector {index} exited with status {proc.returncode}:\n"
                    + self.log_tail(index)
                )
            try:
                if httpx.get(self.urls[index] + "/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.kill(index)
        raise CollectorStartError(
            f"collector {index} did not answer /healthz within {self.startup_timeout_s:g} s:\n"
            + self.log_tail(index)
        )


def enroll_fleet(
    store: Store, people: int, devices_per_person: int, *, name: str = "fleet"
) -> list[EnrolledDevice]:
    """``people`` subjects with every scope granted since t=1, each with ``devices_per_person``
    devices enrolled through one-time codes, exactly as ``workprint enroll`` would."""
    grant = ConsentRecord(t=1, action="grant", scopes=SCOPES, policy_version=1)
    devices = []
    for p in range(people):
        person = store.add_person(f"{name}-{p}", "subject")
        store.record_consent(person.id, grant)
        for d in range(devices_per_person):
            device_name = f"{name}-{p}-{d}"
            code = store.create_enrollment_code(person.id)
            enrollment = store.redeem_enrollment_code(code, device_name)
            devices.append(
                EnrolledDevice(person.id, enrollment.device_id, device_name, enrollment.token)
            )
    return devices


@dataclass(frozen=True)
class ExactlyOnceReport:
    """Counts in events.

    - ``lost``: acknowledged, not stored (an event the acknowledgement counted as rejected — a
      bad row, no consent — counts too: the fleet sends only valid, consented events);
    - ``duplicated``: stored rows beyond the first of the same (device, seq);
    - ``stored_unacked``: stored though never acknowledged (only possible for a batch the device
      gave up on);
    - ``unknown``: stored under a fleet session with a seq no batch carried."""

    sent: int
    acked: int
    stored: int
    lost: int
    duplicated: int
    stored_unacked: int
    unknown: int

    @property
    def exactly_once(self) -> bool:
        return self.lost == 0 and self.duplicated == 0 and self.unknown == 0


class EventReader(Protocol):
    """The one store method verification needs (every ``Store`` has it)."""

    def read_events(
        self,
        person_id: str,
        *,
        start_ns: int | None = None,
        end_ns: int | None = None,
        actor: str,
    ) -> Iterator[pa.Table]: ...


def verify_exactly_once(store: EventReader, fleet: DeviceFleet) -> ExactlyOnceReport:
    """Read every fleet person's events back and compare them with what the fleet sent.

    Stored rows carry no device id, but each device of a fleet records under its own session id,
    so (session, seq) names (device, seq)."""
    sessions = fleet.sessions()
    stored: dict[int, list[np.ndarray]] = {i: [] for i in sessions.values()}
    for person_id in sorted({d.person_id for d in fleet.devices}):
        for table in store.read_events(person_id, actor="fleet-verify"):
            _collect(table, sessions, stored)
    sent: dict[int, list[BatchRecord]] = {i: [] for i in sessions.values()}
    for record in fleet.records:
        sent[record.device].append(record)
    totals = dict.fromkeys(("stored", "lost", "duplicated", "stored_unacked", "unknown"), 0)
    for device, records in sent.items():
        seqs = np.concatenate(stored[device]) if stored[device] else np.empty(0, np.int64)
        unique = np.unique(seqs)
        acked = _seqs_of([r for r in records if r.acked])
        totals["stored"] += int(seqs.size)
        totals["duplicated"] += int(seqs.size - unique.size)
        totals["lost"] += int(np.setdiff1d(acked, unique, assume_unique=True).size)
        extra = np.setdiff1d(unique, acked, assume_unique=True)
        unknown = np.setdiff1d(extra, _seqs_of(records), assume_unique=True).size
        totals["stored_unacked"] += int(extra.size - unknown)
        totals["unknown"] += int(unknown)
    summary = fleet.summary()
    return ExactlyOnceReport(sent=summary.events_sent, acked=summary.events_acked, **totals)


def _collect(table: pa.Table, sessions: dict[str, int], out: dict[int, list[np.ndarray]]) -> None:
    """Append the seqs of ``table``'s rows per fleet device (rows of other sessions ignored)."""
    if table.num_rows == 0:
        return
    column = table.column("session").combine_chunks()
    if isinstance(column, pa.DictionaryArray):
        names, codes = column.dictionary.to_pylist(), column.indices.to_numpy(zero_copy_only=False)
    else:  # a plain string column: encode it the same way
        encoded = column.dictionary_encode()
        names, codes = (
            encoded.dictionary.to_pylist(),
            encoded.indices.to_numpy(zero_copy_only=False),
        )
    seqs = table.column("seq").to_numpy()
    for code, name in enumerate(names):
        device = sessions.get(name)
        if device is not None:
            out[device].append(seqs[codes == code])


def _seqs_of(records: Sequence[BatchRecord]) -> np.ndarray:
    if not records:
        return np.empty(0, np.int64)
    return np.unique(
        np.concatenate([np.arange(r.first_seq, r.first_seq + r.events) for r in records])
    )
