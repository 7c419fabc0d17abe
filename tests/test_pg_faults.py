"""The PostgreSQL backend under concurrency and faults: writers of two processes serialised by
the advisory lock, and a server that stops, restarts or is SIGKILLed under a loop of writes —
callers see one-line ``StoreUnavailableError``s, then carry on without reopening anything."""

from __future__ import annotations

import multiprocessing
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from tests.pg_support import append_audit_entries, new_database, open_with_meta, postgres_server
from workprint.store.embedded import audit
from workprint.store.interface import StoreUnavailableError
from workprint.store.postgres import PostgresDatabase
from workprint.testbed.postgres import PostgresServer

WAIT_S = 60.0  # a deadline against hanging, never a speed claim


@pytest.fixture(scope="module")
def pg() -> Iterator[PostgresServer]:
    yield from postgres_server()


def test_writers_in_two_processes_are_serialised(pg: PostgresServer) -> None:
    url = new_database(pg)
    db, audit_key = open_with_meta(url)
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        done = pool.starmap(
            append_audit_entries, [(url, audit_key, "one", 200), (url, audit_key, "two", 200)]
        )
    assert done == [200, 200]
    with db.read() as conn:
        verdict = audit.verify(conn, audit_key)
        actors = {e.actor for e in audit.entries(conn)}
    assert verdict.ok and verdict.entries == 400
    assert actors == {"one", "two"}
    db.close()


class WriteLoop(threading.Thread):
    """Audit appends in a loop, recording every success and every failure."""

    def __init__(self, db: PostgresDatabase, audit_key: bytes) -> None:
        super().__init__(daemon=True)
        self.db = db
        self.audit_key = audit_key
        self.successes = 0
        self.failures: list[BaseException] = []
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.is_set():
            try:
                with self.db.write() as conn:
                    audit.append(conn, self.audit_key, "loop", "test.append", "x")
                self.successes += 1
            except BaseException as exc:
                self.failures.append(exc)
                time.sleep(0.01)

    def wait_for(self, condition: str, done: Callable[[], bool]) -> None:
        deadline = time.monotonic() + WAIT_S
        while not done():
            assert time.monotonic() < deadline, f"timed out waiting for {condition}"
            time.sleep(0.01)


def check_outage(loop: WriteLoop, db: PostgresDatabase, audit_key: bytes, password: str) -> None:
    """Every failure was a one-line StoreUnavailableError and the chain holds what committed."""
    assert loop.failures, "the loop never hit the outage"
    for failure in loop.failures:
        assert isinstance(failure, StoreUnavailableError), repr(failure)
        assert "\n" not in str(failure) and password not in str(failure)
    unknown = sum("may or may not" in str(f) for f in loop.failures)
    with db.read() as conn:
        verdict = audit.verify(conn, audit_key)
    assert verdict.ok
    assert loop.successes <= verdict.entries <= loop.successes + unknown


@pytest.mark.parametrize("crash", [False, True], ids=["fast-stop", "sigkill"])
def test_writes_during_server_outage_fail_cleanly_then_resume(
    pg: PostgresServer, crash: bool
) -> None:
    db, audit_key = open_with_meta(new_database(pg))
    loop = WriteLoop(db, audit_key)
    loop.start()
    try:
        loop.wait_for("first writes", lambda: loop.successes >= 3)
        if crash:
            pg.kill()
        else:
            pg.stop()
        loop.wait_for("a failed write", lambda: len(loop.failures) >= 2)
        pg.start()
        resumed = loop.successes
        loop.wait_for("writes after the restart", lambda: loop.successes >= resumed + 3)
    finally:
        loop.halt.set()
        loop.join(WAIT_S)
        if not pg.running:
            pg.start()
    check_outage(loop, db, audit_key, pg.password)
    db.close()


def test_restart_under_writes_and_reads_reconnect_transparently(pg: PostgresServer) -> None:
    db, audit_key = open_with_meta(new_database(pg))
    with db.snapshot() as conn:
        conn.execute("SELECT 1")  # a snapshot connection from before the restart
    loop = WriteLoop(db, audit_key)
    loop.start()
    try:
        loop.wait_for("first writes", lambda: loop.successes >= 3)
        pg.restart()
        resumed = loop.successes
        loop.wait_for("writes after the restart", lambda: loop.successes >= resumed + 3)
    finally:
        loop.halt.set()
        loop.join(WAIT_S)
    assert all(isinstance(f, StoreUnavailableError) for f in loop.failures), loop.failures
    pg.restart()  # now nobody uses the connections: each call must reconnect by itself
    with db.read() as conn:
        assert audit.verify(conn, audit_key).ok
    with db.snapshot() as conn:
        assert conn.execute("SELECT count(*) FROM audit").fetchone() is not None
    with db.write() as conn:
        audit.append(conn, audit_key, "after", "test.append", "x")
    db.close()


def test_calls_while_server_is_down_raise_store_unavailable(pg: PostgresServer) -> None:
    db, _ = open_with_meta(new_database(pg))
    pg.stop()
    try:
        for use in (db.write, db.read, db.snapshot):
            with pytest.raises(StoreUnavailableError) as caught, use() as conn:
                conn.execute("SELECT 1")
            assert "\n" not in str(caught.value) and db.location in str(caught.value)
    finally:
        pg.start()
    with db.read() as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
    db.close()
