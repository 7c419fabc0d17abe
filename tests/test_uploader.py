"""The uploader against the real collector over HTTP: acknowledges only what the server stored,
keeps everything while the server is away, quarantines what the server refuses as a whole
without blocking the queue, honours Retry-After, stops on a revoked credential."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.collector_support import (
    Person,
    ServerThread,
    add_person,
    free_port,
    grant_all,
    open_store,
    sample_events,
)
from workprint.collector import CollectorSettings
from workprint.events import SessionStart
from workprint.policy.consent import grant
from workprint.spool import Spool
from workprint.spool.records import SpooledBatch
from workprint.spool.uploader import (
    Uploader,
    backoff_delay,
    merge_batches,
    retry_after_seconds,
    upload_id_of,
)
from workprint.store.interface import Store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    store = open_store(tmp_path / "store")
    yield store
    store.close()


@pytest.fixture
def ada(store: Store) -> Person:
    return add_person(store, "subject", "Ada")


@pytest.fixture
def spool(tmp_path: Path, ada: Person) -> Iterator[Spool]:
    assert ada.device_name is not None
    with Spool.open(tmp_path / "spool.db", os.urandom(32), device_id=ada.device_name) as spool:
        yield spool


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10) as client:
        yield client


def stored_seqs(store: Store, person: Person) -> list[int]:
    return sorted(
        s for t in store.read_events(person.id, actor="test") for s in t["seq"].to_pylist()
    )


def fill(spool: Spool, batches: int, size: int = 50) -> list[int]:
    """Append batches; returns the seq numbers the spool gave their events."""
    seqs: list[int] = []
    for _ in range(batches):
        info = spool.append(sample_events(size))
        assert info is not None
        seqs.extend(range(info.first_seq, info.last_seq + 1))
    return seqs


def test_acks_only_what_the_collector_stored(
    store: Store, ada: Person, spool: Spool, http: httpx.Client, tmp_path: Path
) -> None:
    consent = tmp_path / "consent.json"
    grant(consent, ["all"], 1, now_ns=1)
    seqs = fill(spool, 5)
    with ServerThread(store) as server:
        uploader = Uploader(spool, server.url, ada.token, client=http, consent_file=consent)
        report = uploader.run_once()
    assert report.error is None and report.consent_sent
    assert (report.sent_batches, report.accepted, report.backlog_batches) == (5, 250, 0)
    assert stored_seqs(store, ada) == seqs and len(seqs) == 250
    assert [r.action for r in store.consent_history(ada.id)] == ["grant"]


def test_server_away_keeps_everything_then_delivers_once(
    store: Store, ada: Person, spool: Spool, http: httpx.Client
) -> None:
    seqs = fill(spool, 3)
    port = free_port()
    uploader = Uploader(spool, f"http://127.0.0.1:{port}", ada.token, client=http)
    report = uploader.run_once()
    assert report.error is not None and "cannot reach" in report.error and not report.fatal
    assert spool.stats().batches == 3  # nothing acknowledged, nothing dropped
    with ServerThread(store, port=port) as server:
        grant_all(http, ada, url=server.url)
        assert uploader.run_once().sent_batches == 3
    assert stored_seqs(store, ada) == seqs and len(seqs) == 150


def test_a_batch_refused_whole_is_quarantined_and_the_queue_goes_on(
    store: Store, ada: Person, spool: Spool, http: httpx.Client
) -> None:
    first = fill(spool, 1)
    forged = sample_events(5)
    forged[0] = SessionStart(t=forged[0].t, session=forged[0].session, device="f" * 32)
    spool.append(forged)
    last = fill(spool, 1)
    with ServerThread(store) as server:
        grant_all(http, ada, url=server.url)
        report = Uploader(spool, server.url, ada.token, client=http).run_once()
    assert (report.sent_batches, report.quarantined, report.backlog_batches) == (2, 1, 0)
    assert spool.stats().quarantined == 1
    assert stored_seqs(store, ada) == first + last


def test_retry_after_is_honoured_and_nothing_is_acknowledged(
    store: Store, ada: Person, spool: Spool, http: httpx.Client
) -> None:
    fill(spool, 2)
    busy = CollectorSettings(max_inflight_batches=0, retry_after_s=3)
    with ServerThread(store, busy) as server:
        report = Uploader(spool, server.url, ada.token, client=http).run_once()
    assert report.retry_after == 3.0 and "429" in (report.error or "")
    assert spool.stats().batches == 2


def test_a_revoked_credential_stops_the_uploader_and_keeps_the_data(
    store: Store, ada: Person, spool: Spool, http: httpx.Client
) -> None:
    fill(spool, 2)
    assert ada.device_id is not None
    store.revoke_device(ada.device_id, actor="test")
    with ServerThread(store) as server:
        uploader = Uploader(spool, server.url, ada.token, client=http)
        uploader.start()
        deadline = time.monotonic() + 10
        while uploader.state != "stopped: credential refused" and time.monotonic() < deadline:
            time.sleep(0.05)
        status = uploader.status()
        uploader.stop()
    assert status["state"] == "stopped: credential refused"
    assert "401" in status["last_error"] and "enroll again" in status["last_error"]
    assert status["backlog_batches"] == 2 and spool.stats().quarantined == 0


def test_the_thread_uploads_what_arrives_and_reports_its_backlog(
    store: Store, ada: Person, spool: Spool, http: httpx.Client
) -> None:
    with ServerThread(store) as server:
        grant_all(http, ada, url=server.url)
        uploader = Uploader(spool, server.url, ada.token, client=http)
        uploader.start()
        seqs: list[int] = []
        for _ in range(10):
            seqs += fill(spool, 1, 20)
            uploader.wake()
            time.sleep(0.02)
        deadline = time.monotonic() + 15
        while uploader.status()["backlog_batches"] and time.monotonic() < deadline:
            time.sleep(0.05)
        status = uploader.status()
        uploader.stop()
    assert status["backlog_batches"] == 0 and status["backlog_events"] == 0
    assert status["sent"] == 10 and status["last_error"] is None
    assert stored_seqs(store, ada) == seqs and len(seqs) == 200


def test_backoff_is_full_jitter_and_capped() -> None:
    delays = [backoff_delay(attempt) for attempt in range(40) for _ in range(20)]
    assert min(delays) >= 0 and max(delays) <= 60
    assert max(backoff_delay(1) for _ in range(200)) <= 1.0
    assert retry_after_seconds("7") == 7.0 and retry_after_seconds("99999") == 600.0
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None


def test_pending_batches_go_up_joined_and_each_event_is_stored_once(
    store: Store, ada: Person, spool: Spool, http: httpx.Client
) -> None:
    seqs = fill(spool, 20)  # 20 batches of 50 events
    with ServerThread(store) as server:
        grant_all(http, ada, url=server.url)
        uploader = Uploader(spool, server.url, ada.token, client=http, max_upload_events=120)
        report = uploader.run_once()
    assert report.error is None
    assert (report.sent_batches, report.uploads, report.accepted) == (20, 10, 1000)
    assert spool.stats().batches == 0
    assert stored_seqs(store, ada) == seqs


def test_a_resend_that_joins_another_run_stores_nothing_twice(
    store: Store, ada: Person, http: httpx.Client, tmp_path: Path
) -> None:
    """The acknowledgement of every upload is lost (the device kept a copy of its spool from
    before): the copy joins its batches differently, under other ids, and the collector's
    (device, seq) de-duplication still stores each event once."""
    assert ada.device_name is not None
    key = os.urandom(32)
    with Spool.open(tmp_path / "a.db", key, device_id=ada.device_name) as spool:
        seqs = fill(spool, 9)
    shutil.copy(tmp_path / "a.db", tmp_path / "b.db")
    with ServerThread(store) as server:
        grant_all(http, ada, url=server.url)
        with Spool.open(tmp_path / "a.db", key, device_id=ada.device_name) as first:
            sent = Uploader(first, server.url, ada.token, client=http, max_upload_events=100)
            assert (sent.run_once().uploads, first.stats().batches) == (5, 0)
        with Spool.open(tmp_path / "b.db", key, device_id=ada.device_name) as again:
            report = Uploader(again, server.url, ada.token, client=http).run_once()
    assert (report.uploads, report.sent_batches) == (1, 9)
    assert (report.accepted, report.duplicates) == (0, 450)
    assert stored_seqs(store, ada) == seqs and len(seqs) == 450


@given(st.lists(st.integers(1, 300), max_size=40), st.integers(1, 600))
def test_joined_runs_keep_order_and_stay_within_the_limit(sizes: list[int], limit: int) -> None:
    batches = [SpooledBatch(f"b{i}", 0, n - 1, n, 0, []) for i, n in enumerate(sizes)]
    runs = list(merge_batches(batches, limit))
    assert [b for run in runs for b in run] == batches  # every batch once, in order
    for i, run in enumerate(runs):
        total = sum(b.n_events for b in run)
        assert total <= limit or len(run) == 1
        if i + 1 < len(runs):  # a run ends only where the next batch would not fit
            assert total + runs[i + 1][0].n_events > limit
    ids = [upload_id_of(run) for run in runs]
    assert len(set(ids)) == len(ids)
    assert all(upload_id_of(run) == run[0].batch_id for run in runs if len(run) == 1)
    assert all(len(i) <= 64 for i in ids)
