"""Zero loss, zero duplicates across the failures a collector meets: stopped and restarted while
devices keep recording, and killed with SIGKILL in the middle of ingest. The collector is the
real `workprint serve` process on the real store; the client is the real uploader."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.collector_support import Person, ServeProcess, add_person, open_store, sample_events
from workprint.events import SCOPES, iter_jsonl
from workprint.spool import Spool
from workprint.spool.uploader import Uploader
from workprint.store.interface import ConsentRecord


@pytest.fixture
def subject(tmp_path: Path) -> Person:
    """A subject with all scopes granted, created on the store before the server starts."""
    store = open_store(tmp_path / "store")
    try:
        person = add_person(store, "subject", "Ada")
        store.record_consent(
            person.id, ConsentRecord(t=1, action="grant", scopes=SCOPES, policy_version=1)
        )
    finally:
        store.close()
    return person


@pytest.fixture
def spool(tmp_path: Path, subject: Person) -> Iterator[Spool]:
    assert subject.device_name is not None
    with Spool.open(tmp_path / "spool.db", os.urandom(32), device_id=subject.device_name) as spool:
        yield spool


@pytest.fixture
def server(tmp_path: Path, subject: Person) -> Iterator[ServeProcess]:
    server = ServeProcess(tmp_path / "store")
    yield server
    server.stop()


def stored_seqs(url: str, person: Person) -> list[int]:
    response = httpx.get(url + "/v1/me/events", headers=person.auth, timeout=60)
    assert response.status_code == 200, response.text
    return [e.seq for e in iter_jsonl(response.content.splitlines())]  # type: ignore[union-attr]


def append(spool: Spool, size: int) -> list[int]:
    info = spool.append(sample_events(size))
    assert info is not None
    return list(range(info.first_seq, info.last_seq + 1))


def test_server_stopped_and_restarted_mid_stream_loses_and_duplicates_nothing(
    server: ServeProcess, subject: Person, spool: Spool
) -> None:
    recorded: list[int] = []

    def record() -> None:  # a device that keeps recording throughout
        for _ in range(60):
            recorded.extend(append(spool, 100))
            time.sleep(0.04)

    with httpx.Client(timeout=10) as http:
        uploader = Uploader(spool, server.url, subject.token, client=http, backoff_cap_s=0.5)
        uploader.start()
        writer = threading.Thread(target=record)
        writer.start()
        time.sleep(0.6)
        assert server.stop() == 0  # a clean stop while batches keep coming
        time.sleep(1.5)
        down = uploader.status()
        server.start()
        writer.join()
        deadline = time.monotonic() + 60
        while spool.stats().batches and time.monotonic() < deadline:
            uploader.wake()
            time.sleep(0.1)
        uploader.stop()
    assert down["last_error"] and "cannot reach" in down["last_error"]
    assert spool.stats().batches == 0 and spool.stats().quarantined == 0
    seqs = stored_seqs(server.url, subject)
    assert len(recorded) == 6000
    assert sorted(seqs) == sorted(recorded) and len(set(seqs)) == len(seqs)


def test_kill_9_during_ingest_keeps_every_acknowledged_batch(
    server: ServeProcess, subject: Person, spool: Spool
) -> None:
    recorded = [seq for _ in range(100) for seq in append(spool, 500)]
    acknowledged: list[int] = []
    # the kill is armed once a few batches were acknowledged (not after a fixed time: on a busy
    # machine the first ingest alone can take longer), and lands while later ones are in flight
    killer = threading.Timer(0.02, server.kill9)
    with httpx.Client(timeout=10) as http:
        uploader = Uploader(spool, server.url, subject.token, client=http)
        while True:  # one batch at a time, noting exactly which ones the server acknowledged
            batch = spool.pending(1)[0]
            report = uploader.run_once(max_batches=1)
            if report.error is not None:
                break
            assert report.sent_batches == 1
            acknowledged.extend(e.seq for e in batch.events)
            if len(acknowledged) == 5 * 500:
                killer.start()
        killer.join()
        assert server.proc is not None and server.proc.returncode == -9
        assert 0 < len(acknowledged) < len(recorded), "the kill should land mid-stream"
        server.start()
        after_restart = set(stored_seqs(server.url, subject))
        assert set(acknowledged) <= after_restart  # nothing acknowledged was lost
        while spool.stats().batches:
            assert uploader.run_once().error is None
    seqs = stored_seqs(server.url, subject)
    assert sorted(seqs) == recorded and len(set(seqs)) == len(seqs)
