"""Several `workprint serve` processes on one store, a thousand simulated devices, and faults
(issue 8): real processes, real HTTP on 127.0.0.1, the real store read back at the end.

Every scenario runs on both backends: "embedded" (the collectors share one SQLite + files
directory) and "shared" (PostgreSQL + S3, both started by the test on 127.0.0.1). Restarting
PostgreSQL is only meaningful on the shared one."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from workprint.crypto.envelope import FileMasterKey
from workprint.store.backends import open_store
from workprint.store.interface import Store
from workprint.testbed.device_fleet import CONNECT_ERROR, CONNECTION_LOST
from workprint.testbed.fleet import (
    CollectorProcesses,
    CollectorStartError,
    DeviceFleet,
    EnrolledDevice,
    ExactlyOnceReport,
    FleetSummary,
    enroll_fleet,
    verify_exactly_once,
)
from workprint.testbed.postgres import PostgresServer
from workprint.testbed.s3 import S3Server

BUCKET = "fleet"
# events/s offered by 1,000 devices sending 50–150-event batches: on the embedded store a batch per
# device every ~12.5 s (80 batches/s); the shared one (PostgreSQL + S3 on the same 2 cores as
# everything else) sustains ~40 batches/s here, so a batch per device every ~33 s — modest rates,
# so that the test measures delivery, not queueing (bench/collectors_scale.py measures capacity)
RATE = {"embedded": 8_000.0, "shared": 3_000.0}
BATCH_EVENTS = (50, 150)


@dataclass
class Deployment:
    """Where the collectors keep their data: the same arguments for every process."""

    kind: str
    data: Path
    master_key: Path
    logs: Path
    serve_args: list[str] = field(default_factory=list)
    serve_env: dict[str, str] = field(default_factory=dict)
    database: str | None = None
    objects: str | None = None
    postgres: PostgresServer | None = None  # of a shared deployment

    def open_store(self) -> Store:
        store: Store = open_store(
            self.data, FileMasterKey(self.master_key), database=self.database, objects=self.objects
        )
        return store

    def collectors(self, count: int) -> CollectorProcesses:
        return CollectorProcesses(
            count,
            self.data,
            self.master_key,
            log_dir=self.logs,
            extra_args=self.serve_args,
            env=self.serve_env,
        )

    def enroll(self, people: int, devices_per_person: int) -> list[EnrolledDevice]:
        store = self.open_store()
        try:
            return enroll_fleet(store, people, devices_per_person)
        finally:
            store.close()

    def verify(self, fleet: DeviceFleet) -> ExactlyOnceReport:
        store = self.open_store()
        try:
            return verify_exactly_once(store, fleet)
        finally:
            store.close()


@contextmanager
def deploy(kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Deployment]:
    base = Deployment(kind, tmp_path / "data", tmp_path / "master.key", tmp_path / "logs")
    if kind == "embedded":
        yield base
        return
    with PostgresServer() as postgres, S3Server() as s3:
        s3.create_bucket(BUCKET)
        for name, value in s3.environ().items():
            monkeypatch.setenv(name, value)  # the in-process store of enroll/verify reads them
        base.database, base.objects = postgres.url, f"s3://{BUCKET}/events"
        base.serve_args = ["--database", base.database, "--objects", base.objects]
        base.serve_env = s3.environ()
        base.postgres = postgres
        yield base


@pytest.fixture(params=["embedded", "shared"])
def deployment(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Deployment]:
    with deploy(request.param, tmp_path, monkeypatch) as deployed:
        yield deployed


def assert_exactly_once(
    summary: FleetSummary, report: ExactlyOnceReport, collectors: CollectorProcesses
) -> None:
    """Every batch acknowledged in the end; every acknowledged event stored exactly once."""
    context = f"{summary}\n{report}\n{collectors.logs()}"
    assert summary.batches > 0, context
    assert summary.given_up == 0, context
    assert summary.acked_batches == summary.batches, context
    assert report.lost == 0, context
    assert report.duplicated == 0, context
    assert report.unknown == 0, context
    assert report.stored == report.acked == report.sent == summary.events_acked, context


def describe(summary: FleetSummary) -> str:
    return (
        f"{summary.acked_batches:,} batches, {summary.events_acked:,} events in "
        f"{summary.elapsed_s:.0f} s; p50 {summary.latency_ms(0.5):.0f} ms, "
        f"p99 {summary.latency_ms(0.99):.0f} ms; {dict(summary.outcomes)}"
    )


def test_two_collectors_a_thousand_devices_for_a_minute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The issue's scenario, on PostgreSQL + S3 (the embedded store's two-collector case is
    covered by the fail-over test, to keep the suite's time in bounds)."""
    with deploy("shared", tmp_path, monkeypatch) as deployment:
        devices = deployment.enroll(people=100, devices_per_person=10)
        with deployment.collectors(2) as collectors:
            fleet = DeviceFleet(collectors.urls, devices, batch_events=BATCH_EVENTS, seed=1)
            summary = fleet.run(60.0, rate=RATE[deployment.kind], drain_s=120.0)
            exit_codes = collectors.stop()
        print(f"{deployment.kind}: {describe(summary)}")
        assert exit_codes == {0: 0, 1: 0}, collectors.logs()
        assert_exactly_once(summary, deployment.verify(fleet), collectors)
        acked_by = {r.collectors[-1] for r in fleet.records if r.acked}
        assert acked_by == {0, 1}, "the load balancer must have used both collectors"
        assert len({r.device for r in fleet.records}) == len(devices), "every device uploaded"


def test_collector_killed_mid_request_devices_fail_over(deployment: Deployment) -> None:
    """SIGKILL collector 0 while it has a request in flight; its devices' batches go to
    collector 1 (same batch id); collector 0 is restarted later and takes requests again."""
    devices = deployment.enroll(people=100, devices_per_person=10)
    with deployment.collectors(2) as collectors:
        fleet = DeviceFleet(collectors.urls, devices, batch_events=BATCH_EVENTS, seed=2)
        caught_busy: list[bool] = []

        def kill_mid_request() -> None:
            caught_busy.append(fleet.wait_until_busy(0))
            collectors.kill(0)

        actions = [(5.0, "kill collector 0", kill_mid_request)]
        actions.append((9.0, "restart collector 0", lambda: collectors.restart(0)))
        summary = fleet.run(20.0, rate=RATE[deployment.kind], drain_s=120.0, actions=actions)
        collectors.stop()
    print(f"{deployment.kind}: {describe(summary)}; {fleet.actions_done}")
    assert caught_busy == [True], "the kill must land while collector 0 has a request in flight"
    times = {name: (begun, done) for begun, done, name in fleet.actions_done}
    (kill_begun, killed), (_, restarted) = times["kill collector 0"], times["restart collector 0"]
    cut = [  # batches whose request to collector 0 was cut by the kill, not by anything else
        r
        for r in fleet.records
        if any(
            c == 0 and o == CONNECTION_LOST and kill_begun <= t <= killed + 1.0
            for t, c, o in r.attempt_log
        )
    ]
    assert cut, f"no request cut by the kill: {summary.outcomes}"
    assert all(r.acked for r in cut), "every cut batch was resent until acknowledged"
    assert any(r.collectors[-1] == 1 for r in cut), "… by the other collector"
    refused = [o for r in fleet.records for t, c, o in r.attempt_log if c == 0 and t < restarted]
    assert CONNECT_ERROR in refused, "requests reached the dead collector and failed over"
    assert any(
        r.acked and r.collectors[-1] == 0 and r.started_s > restarted for r in fleet.records
    ), "the restarted collector takes requests again"
    assert_exactly_once(summary, deployment.verify(fleet), collectors)


def test_postgres_restart_gives_503_with_retry_after_and_loses_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL stops for 3 s and comes back: collectors answer 503 with Retry-After, the
    devices wait that long and resend, nothing is lost or stored twice."""
    with deploy("shared", tmp_path, monkeypatch) as deployment:
        postgres = deployment.postgres
        assert postgres is not None
        devices = deployment.enroll(people=100, devices_per_person=10)

        def restart_postgres() -> None:
            postgres.stop()
            time.sleep(3.0)
            postgres.start()

        with deployment.collectors(2) as collectors:
            fleet = DeviceFleet(collectors.urls, devices, batch_events=BATCH_EVENTS, seed=3)
            actions = [(6.0, "restart PostgreSQL", restart_postgres)]
            summary = fleet.run(20.0, rate=RATE[deployment.kind], drain_s=120.0, actions=actions)
            collectors.stop()
        print(f"shared: {describe(summary)}; {fleet.actions_done}")
        assert summary.outcomes["503"] >= 1, summary.outcomes
        assert summary.retry_after_503 == summary.outcomes["503"], "every 503 says Retry-After"
        assert not [o for o in summary.outcomes if o.startswith("5") and o != "503"], (
            summary.outcomes
        )
        assert_exactly_once(summary, deployment.verify(fleet), collectors)


# -- the harness itself: its verdicts must be able to fail ---------------------------------------


def test_verify_counts_acknowledged_events_the_store_no_longer_has(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with deploy("embedded", tmp_path, monkeypatch) as deployment:
        devices = deployment.enroll(people=3, devices_per_person=2)
        with deployment.collectors(1) as collectors:
            fleet = DeviceFleet(collectors.urls, devices, batch_events=(20, 40), seed=4)
            summary = fleet.run(2.0, rate=600.0)
        store = deployment.open_store()
        try:
            assert verify_exactly_once(store, fleet).exactly_once
            erased = store.forget(devices[0].person_id, actor="test")
            report = verify_exactly_once(store, fleet)
        finally:
            store.close()
    person_0 = [r for r in fleet.records if devices[r.device].person_id == devices[0].person_id]
    assert erased.events_deleted == sum(r.events for r in person_0) > 0
    assert report.lost == erased.events_deleted
    assert report.stored == summary.events_acked - erased.events_deleted
    assert not report.exactly_once


def test_a_refused_device_gives_up_and_its_batches_count_as_unacknowledged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with deploy("embedded", tmp_path, monkeypatch) as deployment:
        devices = deployment.enroll(people=2, devices_per_person=2)
        store = deployment.open_store()
        try:
            store.revoke_device(devices[3].device_id, actor="test")
        finally:
            store.close()
        with deployment.collectors(1) as collectors:
            fleet = DeviceFleet(collectors.urls, devices, batch_events=(20, 40), seed=5)
            summary = fleet.run(2.0, rate=400.0)
        report = deployment.verify(fleet)
    refused = [r for r in fleet.records if r.device == 3]
    assert refused, "the revoked device tried"
    assert all(not r.acked and (r.given_up or "").startswith("401") for r in refused)
    assert summary.given_up == len(refused)
    assert report.sent - report.acked == sum(r.events for r in refused)
    assert report.lost == report.duplicated == report.stored_unacked == 0
    assert report.stored == report.acked


def test_a_collector_that_cannot_start_is_reported_with_its_log(tmp_path: Path) -> None:
    collectors = CollectorProcesses(
        1,
        tmp_path / "data",
        tmp_path / "master.key",
        log_dir=tmp_path / "logs",
        extra_args=["--no-such-option"],
    )
    with pytest.raises(
        CollectorStartError,
        match=r"collector 0 exited with status 2:(.|\n)*"
        r"no-such-option",
    ):
        collectors.start()
    collectors.stop()


def test_a_fleet_needs_collectors_and_devices() -> None:
    device = EnrolledDevice("person", "device", "name", "token")
    with pytest.raises(ValueError, match="at least one collector URL and one device"):
        DeviceFleet([], [device])
    with pytest.raises(ValueError, match="at least one collector URL and one device"):
        DeviceFleet(["http://127.0.0.1:9"], [])
