"""Group commit: concurrent ``ingest`` calls share one transaction, and nothing about a batch's
outcome depends on which batches it shares it with — every event stored exactly once, a batch
that may not be written fails alone, consent and de-duplication judged as of the commit."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.backend_support import (
    SHARED,
    backend_environ,
    open_store_here,
    referenced_and_stored,
    write_lock,
)
from tests.store_support import (
    T0,
    enrol,
    moves,
    open_store,
    read_all,
    table,
)
from workprint.events import Event, KeyDown
from workprint.store.embedded import EmbeddedStore
from workprint.store.embedded.group import GroupCommit
from workprint.store.interface import (
    ConsentRecord,
    CredentialError,
    IngestResult,
    Principal,
    StoreError,
)


def referenced_and_on_disk(store: EmbeddedStore) -> tuple[set[str], set[str]]:
    return referenced_and_stored(store)


def test_group_commit_takes_everything_queued_and_hands_each_caller_its_outcome() -> None:
    release = threading.Event()
    groups: list[list[int]] = []

    def commit(items: list[int]) -> list[int | BaseException]:
        groups.append(items)
        if len(groups) == 1:
            release.wait(10)
        return [ValueError(f"odd {i}") if i % 2 else i * 10 for i in items]

    group: GroupCommit[int, int] = GroupCommit(commit, max_items=100, max_weight=1000)
    outcomes: dict[int, int | str] = {}

    def submit(i: int) -> None:
        try:
            outcomes[i] = group.submit(i).result()
        except ValueError as exc:
            outcomes[i] = str(exc)

    first = threading.Thread(target=submit, args=(0,))
    first.start()
    while not groups:  # the first caller leads and is stuck committing alone
        time.sleep(0.001)
    rest = [threading.Thread(target=submit, args=(i,)) for i in range(1, 9)]
    for thread in rest:
        thread.start()
    while group.queued() < 8:
        time.sleep(0.001)
    release.set()
    for thread in [first, *rest]:
        thread.join(10)
    assert groups[0] == [0] and sorted(groups[1]) == list(range(1, 9))  # one group for the rest
    assert outcomes == {i: (f"odd {i}" if i % 2 else i * 10) for i in range(9)}
    assert (group.groups, group.items) == (2, 9)


def test_group_commit_bounds_a_group_and_reports_a_failed_commit_to_all() -> None:
    release = threading.Event()
    groups: list[list[int]] = []

    def commit(items: list[int]) -> list[int | BaseException]:
        groups.append(items)
        if len(groups) == 1:
            release.wait(10)
        if len(groups) == 2:
            raise OSError("disk full")
        return list(items)

    group: GroupCommit[int, int] = GroupCommit(commit, max_items=3, max_weight=250)
    errors: list[str] = []

    def submit(i: int) -> None:
        try:
            group.submit(i, weight=100).result()
        except OSError as exc:
            errors.append(str(exc))

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(5)]
    threads[0].start()
    while not groups:
        time.sleep(0.001)
    for thread in threads[1:]:
        thread.start()
    while group.queued() < 4:
        time.sleep(0.001)
    release.set()
    for thread in threads:
        thread.join(10)
    assert [len(g) for g in groups] == [1, 2, 2]  # at most 250 of weight per group
    assert errors == ["disk full", "disk full"]  # the second group failed, all of it


@contextmanager
def held(store: EmbeddedStore) -> Iterator[Callable[[int], None]]:
    """Hold the store's write lock: ingest callers prepare, then queue while the committer is
    stuck on the lock with the first group. Yields ``wait_queued(n)``; releasing lets that group
    commit, then the next group takes every batch queued meanwhile."""
    write_lock(store).acquire()
    group = store.group_commit

    def wait_queued(n: int) -> None:
        deadline = time.monotonic() + 20
        while group.queued() < n:
            assert time.monotonic() < deadline, f"{group.queued()} of {n} queued"
            time.sleep(0.002)

    try:
        yield wait_queued
    finally:
        write_lock(store).release()


def ingest_in_thread(
    store: EmbeddedStore,
    principal: Principal,
    batch_id: str,
    events: list[Event],
    out: dict[str, IngestResult | BaseException],
    key: str,
) -> threading.Thread:
    def run() -> None:
        try:
            out[key] = store.ingest(principal, batch_id, table(events))
        except BaseException as exc:
            out[key] = exc

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_one_group_judges_every_batch_as_of_its_commit(tmp_path: Path) -> None:
    with open_store(tmp_path) as store:
        ada, bob, eve = enrol(store, "Ada"), enrol(store, "Bob"), enrol(store, "Eve")
        sent = moves(300, t=T0, seq=0)
        out: dict[str, IngestResult | BaseException] = {}
        with held(store) as wait_queued:
            threads = [ingest_in_thread(store, ada.principal, "lead", sent[:10], out, "lead")]
            wait_queued(0)
            while not store.group_commit.busy:
                time.sleep(0.002)
            for key, who, batch_id, events in (
                ("a1", ada, "a", sent[10:110]),
                ("a1-copy", ada, "a", sent[10:110]),  # the same batch twice in one group
                ("a2", ada, "b", sent[60:160]),  # overlaps a1: 50 duplicates
                ("bob", bob, "a", sent[:100]),  # same batch id and seqs, another device
                ("eve", eve, "e", sent[:100]),  # revoked while waiting: fails alone
                ("bob-mouse", bob, "m", sent[200:300]),  # mouse revoked at its t meanwhile
            ):
                threads.append(ingest_in_thread(store, who.principal, batch_id, events, out, key))
            wait_queued(6)
            assert eve.principal.device_id is not None
            store.revoke_device(eve.principal.device_id, actor="admin")  # we hold the lock
            revoke = ConsentRecord(
                t=sent[200].t, action="revoke", scopes=("mouse",), policy_version=2
            )
            store.record_consent(bob.person_id, revoke)
        for thread in threads:
            thread.join(20)
        assert store.group_commit.groups == 2 and store.group_commit.items == 7
        results = {k: v for k, v in out.items() if isinstance(v, IngestResult)}
        assert isinstance(out["eve"], CredentialError)
        copies = sorted([results["a1"], results["a1-copy"]], key=lambda r: r.replayed)
        assert (copies[0].replayed, copies[1].replayed, copies[1].duplicates) == (False, True, 100)
        a1, a2 = copies[0], results["a2"]
        # a1 and a2 overlap by 50 seqs; whichever the group took first stores them
        assert sorted([(a1.accepted, a1.duplicates), (a2.accepted, a2.duplicates)]) == [
            (50, 50),
            (100, 0),
        ]
        assert results["bob"].accepted == 100
        mouse = results["bob-mouse"]
        assert (mouse.accepted, mouse.rejected_consent) == (0, 100)
        assert [e.seq for e in read_all(store, ada.person_id)] == list(range(160))
        assert [e.seq for e in read_all(store, bob.person_id)] == list(range(100))
        assert read_all(store, eve.person_id) == []
        referenced, on_disk = referenced_and_on_disk(store)
        assert referenced == on_disk  # rewritten and refused batches left no file behind
        # Remembered as of the commit: resending changes nothing.
        again = store.ingest(ada.principal, "b", table(sent[60:160]))
        assert again.replayed


def test_many_threads_many_devices_every_event_exactly_once(tmp_path: Path) -> None:
    with open_store(tmp_path) as store:
        people = [enrol(store, f"P{i}", device=f"dev{i}") for i in range(4)]
        n_threads, per_thread, size = 12, 15, 40
        results: list[IngestResult] = []
        errors: list[BaseException] = []
        sent: dict[str, set[int]] = {s.person_id: set() for s in people}
        barrier = threading.Barrier(n_threads)

        def work(worker: int) -> None:
            subject = people[worker % len(people)]
            lane = worker // len(people)
            barrier.wait()
            try:
                for b in range(per_thread):
                    # Three workers per device send overlapping ranges; every fourth batch
                    # all three send the very same batch (same id, same events).
                    shared = b % 4 == 0
                    first = (b * 3 + (0 if shared else lane)) * size // 2
                    batch = moves(size, t=T0 + first * 16_000_000, seq=first)
                    batch_id = f"shared-{b}" if shared else f"w{lane}-{b}"
                    sent[subject.person_id].update(e.seq for e in batch)
                    results.append(store.ingest(subject.principal, batch_id, table(batch)))
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(w,)) for w in range(n_threads)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert not errors
        assert len(results) == n_threads * per_thread
        assert store.group_commit.groups < store.group_commit.items  # they did share commits
        stored = 0
        for subject in people:
            seqs = [e.seq for e in read_all(store, subject.person_id)]
            assert sorted(seqs) == sorted(sent[subject.person_id])  # each exactly once
            stored += len(seqs)
        assert sum(r.accepted for r in results) == stored
        assert sum(r.accepted + r.duplicates for r in results) == n_threads * per_thread * size
        assert sum(r.replayed for r in results) == len(people) * 2 * ((per_thread + 3) // 4)
        referenced, on_disk = referenced_and_on_disk(store)
        assert referenced == on_disk


def test_a_batch_refused_before_the_group_costs_the_others_nothing(tmp_path: Path) -> None:
    with open_store(tmp_path) as store:
        ada = enrol(store)
        with pytest.raises(StoreError, match="lacks columns"):
            store.ingest(ada.principal, "bad", table(moves(3, t=T0, seq=0)).drop_columns(["x"]))
        ok = store.ingest(ada.principal, "good", table(moves(3, t=T0, seq=0)))
        assert ok.accepted == 3
        typed = [KeyDown(t=T0 + 10**9, session="s", seq=10, cls="letter", char="q")]
        assert store.ingest(ada.principal, "keys", table(typed)).accepted == 1


def test_a_failed_group_commit_fails_every_batch_and_leaves_nothing(tmp_path: Path) -> None:
    with open_store(tmp_path) as store:
        ada, bob = enrol(store, "Ada"), enrol(store, "Bob")
        out: dict[str, IngestResult | BaseException] = {}
        intake = store._intake
        original = intake._write

        @contextmanager
        def failing() -> Iterator[object]:  # the commit of the group fails, after its writes
            with original() as conn:
                yield conn
                raise StoreError("store meta.db: disk I/O error")

        intake._write = failing  # type: ignore[assignment]
        with held(store) as wait_queued:
            threads = [
                ingest_in_thread(store, ada.principal, "x", moves(5, t=T0, seq=0), out, "lead")
            ]
            while not store.group_commit.busy:
                time.sleep(0.002)
            threads += [
                ingest_in_thread(store, s.principal, "y", moves(5, t=T0, seq=9), out, s.person_id)
                for s in (ada, bob)
            ]
            wait_queued(2)
        for thread in threads:
            thread.join(20)
        intake._write = original
        assert all(isinstance(v, StoreError) for v in out.values()), out
        assert read_all(store, ada.person_id) == [] and read_all(store, bob.person_id) == []
        referenced, on_disk = referenced_and_on_disk(store)
        assert referenced == on_disk == set()
        assert store.ingest(ada.principal, "y", table(moves(5, t=T0, seq=9))).accepted == 5


# -- kill -9 while groups commit --------------------------------------------------------------

MINUTE = 60 * 10**9


def crash_event(seq: int) -> Event:
    """A pure function of seq, one a minute (a batch of 300 spans two UTC days now and then)."""
    if seq % 7 == 0:
        return KeyDown(t=T0 + seq * MINUTE, session="crash", seq=seq, cls="letter", char="k")
    return moves(1, t=T0 + seq * MINUTE, seq=seq)[0]


def writer_main(data: str, master: str, first: int, size: int, tokens: list[str]) -> None:
    """One thread per device token, ingesting back to back; prints ``device first last`` for
    every batch once ``ingest`` returned (acknowledged)."""
    import sys

    from workprint.crypto.envelope import FileMasterKey

    store = open_store_here(Path(data), FileMasterKey(Path(master), create=False))
    print_lock = threading.Lock()

    def device(index: int, token: str) -> None:
        principal = store.authenticate(token)
        assert principal is not None
        start = first
        while True:
            batch = [crash_event(s) for s in range(start, start + size)]
            result = store.ingest(principal, f"batch-{start}", table(batch))
            assert result.accepted == size, result
            with print_lock:
                sys.stdout.write(f"{index} {start} {start + size - 1}\n")
                sys.stdout.flush()
            start += size

    threads = [
        threading.Thread(target=device, args=(i, token), daemon=True)
        for i, token in enumerate(tokens)
    ]
    print("ready", flush=True)
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def test_kill_9_during_group_commits_keeps_every_acknowledged_batch(tmp_path: Path) -> None:
    import os
    import random
    import signal
    import sqlite3
    import subprocess
    import sys

    from tests.store_support import master_path

    with open_store(tmp_path) as store:
        subjects = [enrol(store, f"P{i}", device=f"dev{i}") for i in range(6)]
    tokens = [s.token for s in subjects]
    size = 300
    acked: dict[int, list[tuple[int, int]]] = {i: [] for i in range(len(tokens))}
    in_flight: dict[int, list[tuple[int, int]]] = {i: [] for i in range(len(tokens))}
    first = 0
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).parents[1]))
    env.update(backend_environ(tmp_path / "data"))
    for round_ in range(3):
        proc = subprocess.Popen(
            [
                *(sys.executable, __file__, str(tmp_path / "data"), str(master_path(tmp_path))),
                *(str(first), str(size), *tokens),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        assert proc.stdout is not None
        try:
            assert proc.stdout.readline().startswith("ready")
            lines = [proc.stdout.readline() for _ in range(10 + 5 * round_)]
            time.sleep(random.uniform(0, 0.05))  # an arbitrary moment, likely mid-commit
        finally:
            proc.send_signal(signal.SIGKILL)
            # read() drains what readline() buffered too (communicate() would skip it)
            rest = proc.stdout.read()
            err = proc.stderr.read() if proc.stderr else ""
            proc.wait(30)
        assert proc.returncode == -signal.SIGKILL, err
        last = first - 1
        for line in lines + rest.split("\n")[:-1]:  # whole lines only (see test_store_crash)
            device, lo, hi = map(int, line.split())
            acked[device].append((lo, hi))
        for device in acked:
            top = max((hi for lo, hi in acked[device] if lo >= first), default=first - 1)
            in_flight[device].append((top + 1, top + size))  # may have been committing
            last = max(last, top)
        first = last + 1 + size  # nothing is ever re-sent: all-or-nothing shows

    if not SHARED:
        with sqlite3.connect(tmp_path / "data" / "meta.db") as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    with open_store(tmp_path) as store:  # the open removes what killed commits left behind
        if SHARED:  # a shared store leaves debris to `collect_debris`: no other writer here
            store.collect_debris(min_age_s=0)
        referenced, on_disk = referenced_and_on_disk(store)
        assert referenced == on_disk
        for index, subject in enumerate(subjects):
            events = read_all(store, subject.person_id)
            seqs = [e.seq for e in events]
            assert len(seqs) == len(set(seqs))  # exactly once
            assert all(e == crash_event(e.seq) for e in events)
            have = set(seqs)
            for lo, hi in acked[index]:
                assert set(range(lo, hi + 1)) <= have, f"device {index}: acked {lo}..{hi} lost"
            for lo, hi in in_flight[index]:
                part = have & set(range(lo, hi + 1))
                assert not part or len(part) == hi - lo + 1, f"{lo}..{hi} stored partially"
            sent = acked[index] + in_flight[index]
            assert have <= {s for lo, hi in sent for s in range(lo, hi + 1)}
        assert sum(len(a) for a in acked.values()) >= 10


if __name__ == "__main__":
    import sys

    writer_main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5:])
