"""The shared backend as a whole — PostgreSQL metadata (Debian's server, started by the tests)
and event files in an S3 bucket (moto's server) on 127.0.0.1: nothing readable at rest in any
byte either of them holds, provable erasure, several processes writing one store at once, and
the object-store housekeeping (compaction, debris). The backend-independent store and collector
tests also run on this backend (``WORKPRINT_TEST_BACKEND=shared``, see ``backend_support``)."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

from tests.backend_support import BUCKET, bucket_files, open_shared_store, servers
from tests.store_support import (
    DAY_NS,
    T0,
    enrol,
    master_path,
    moves,
    ordered,
    read_all,
    table,
    typing,
)
from workprint.crypto.envelope import FileMasterKey
from workprint.events import WindowFocus
from workprint.events.columnar import events_to_table
from workprint.store.embedded import EmbeddedStore, files
from workprint.store.interface import Principal

TYPED = "correct horse battery staple"
TITLE = "Quarterly layoffs draft - confidential.odt"
URL = "https://intranet.example.org/hr/salaries?q=ada"


def secrets_in(data: bytes) -> list[str]:
    needles = [TYPED, TITLE, URL, "battery", "layoffs", "intranet.example"]
    return [n for n in needles if n.encode() in data or n.encode("utf-16-le") in data]


def shared(tmp_path: Path) -> EmbeddedStore:
    """This test's store on the shared backend, whatever backend the session runs on."""
    return open_shared_store(tmp_path / "data", FileMasterKey(master_path(tmp_path)))


def bucket_objects(store: EmbeddedStore) -> dict[str, bytes]:
    """Every object under the store's prefix, read back over S3."""
    fs = servers().s3.filesystem()
    out: dict[str, bytes] = {}
    for path in bucket_files(store):
        with fs.open_input_stream(path) as stream:
            out[path] = stream.read()
    return out


def postgres_bytes() -> bytes:
    """Every byte of every file of the PostgreSQL cluster: tables, indexes, WAL, logs."""
    root = servers().pg.data_dir
    return b"\n".join(p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file())


def fill(store: EmbeddedStore) -> tuple[str, list[WindowFocus]]:
    subject = enrol(store)
    sent = [
        WindowFocus(t=T0 + 1, session="s1", seq=1, app="firefox", title=URL),
        *typing(TYPED, t=T0 + 3, seq=3, title=TITLE),
    ]
    for i in range(0, len(sent), 9):
        store.ingest(subject.principal, f"b{i}", table(sent[i : i + 9]))
    return subject.person_id, sent  # type: ignore[return-value]


def test_nothing_readable_at_rest_and_erasure_leaves_nothing(tmp_path: Path) -> None:
    with shared(tmp_path) as store:
        person_id, sent = fill(store)
        assert read_all(store, person_id) == ordered(list(sent))  # the key holder reads it
        objects = bucket_objects(store)
        assert objects, "the events went to the bucket"
        assert not list((tmp_path / "data").rglob("*.sealed")), "and not to local files"
        assert all(blob.startswith(files.MAGIC) for blob in objects.values())
        assert [n for blob in objects.values() for n in secrets_in(blob)] == []
        with store.database.write() as conn:
            conn.execute("CHECKPOINT")  # table pages on disk, not only in shared buffers
        assert secrets_in(postgres_bytes()) == []

        receipt = store.forget(person_id, actor="test")
        assert receipt.key_destroyed and receipt.events_deleted == len(sent)
        assert bucket_objects(store) == {}
        with store.database.read() as conn:
            assert (
                conn.execute(
                    "SELECT count(*) FROM data_keys WHERE person_id = ?", (person_id,)
                ).fetchone()[0]
                == 0
            )
            assert (
                conn.execute(
                    "SELECT count(*) FROM files WHERE person_id = ?", (person_id,)
                ).fetchone()[0]
                == 0
            )
        assert store.verify_audit().ok
    assert secrets_in(postgres_bytes()) == []


def ingest_worker(data: str, master: str, env: dict[str, str], principal: bytes, n: int) -> int:
    """A second process on the same store: the same batches (same ids) and overlapping
    re-batched seqs, as a retried upload that reached another collector would send."""
    import msgspec

    from workprint.store.backends import open_store

    who = msgspec.json.decode(principal, type=Principal)
    accepted = 0
    with open_store(
        Path(data),
        FileMasterKey(Path(master)),
        database=env["WORKPRINT_DATABASE"],
        objects=env["WORKPRINT_OBJECTS"],
    ) as store:
        for i in range(n):
            batch = events_to_table(moves(50, t=T0 + i * 10**9, seq=i * 50))
            accepted += store.ingest(who, f"batch-{i}", batch).accepted
            overlap = events_to_table(
                moves(50, t=T0 + i * 10**9 + 25 * 16_000_000, seq=i * 50 + 25)
            )
            accepted += store.ingest(who, f"rebatched-{i}", overlap).accepted
            store.audit(f"worker:{n}", "test.append", "x")
    return accepted


def test_two_processes_writing_one_store_store_each_event_once(tmp_path: Path) -> None:
    import msgspec

    env = servers().environ_for(tmp_path / "data")
    with shared(tmp_path) as store:
        subject = enrol(store)
    args = (
        str(tmp_path / "data"),
        str(master_path(tmp_path)),
        env,
        msgspec.json.encode(subject.principal),
        40,
    )
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        accepted = sum(pool.starmap(ingest_worker, [args, args]))
    with shared(tmp_path) as store:
        events = read_all(store, subject.person_id)
        expected = 40 * 50 + 25  # seqs 0 .. 40*50+24, each once
        assert len(events) == expected == accepted
        assert len({e.seq for e in events}) == expected
        verdict = store.verify_audit()
        assert verdict.ok, verdict.reason
        appended = [e for e in store.audit_entries() if e.action == "test.append"]
        assert len(appended) == 80


def test_compaction_and_debris_on_the_bucket(tmp_path: Path) -> None:
    with shared(tmp_path) as store:
        subject = enrol(store)
        day_t = T0 - 3 * DAY_NS
        sent = moves(300, t=day_t, seq=0)
        for i in range(0, 300, 30):
            store.ingest(subject.principal, f"b{i}", table(sent[i : i + 30]))
        store.compactor.drain()
        before = set(bucket_objects(store))
        day = files.day_of(day_t)
        merged = store.compact(day, actor="test")
        after = set(bucket_objects(store))
        assert merged >= 2 and len(after) < len(before)
        assert read_all(store, subject.person_id) == ordered(list(sent))

        # an upload whose commit never happened (a collector killed in between) is debris
        orphan = files.relative_path(day, "orphanbucket", files.new_file_id())
        store.storage.write(orphan, files.MAGIC + b"never committed")
        assert store.collect_debris() == 0  # too young: it may be another collector's batch
        assert store.collect_debris(min_age_s=0) == 1
        assert set(bucket_objects(store)) == after
        assert read_all(store, subject.person_id) == ordered(list(sent))


def test_open_refuses_objects_without_database_and_a_missing_bucket(tmp_path: Path) -> None:
    import pytest

    from workprint.store.backends import open_store
    from workprint.store.interface import StoreError

    key = FileMasterKey(master_path(tmp_path))
    with pytest.raises(StoreError, match="--objects needs --database"):
        open_store(tmp_path / "d", key, objects=f"s3://{BUCKET}/x")
    env = servers().environ_for(tmp_path / "d")
    with pytest.raises(StoreError, match="bucket"):
        open_store(
            tmp_path / "d", key, database=env["WORKPRINT_DATABASE"], objects="s3://no-such-bucket/x"
        )
    with pytest.raises(StoreError, match="postgresql://"):
        open_store(tmp_path / "d", key, database="mysql://u:secretpw@h/db")
    try:
        open_store(tmp_path / "d", key, database="mysql://u:secretpw@h/db")
    except StoreError as exc:
        assert "secretpw" not in str(exc)


def test_editing_or_deleting_an_audit_row_in_postgres_is_detected_and_named(
    tmp_path: Path,
) -> None:
    """Whoever can write to PostgreSQL but lacks the master key cannot rewrite history."""
    with shared(tmp_path) as store:
        for i in range(5):
            store.audit("steward", "policy.update", f"v{i}")
        entries = store.audit_entries()
        victim, deleted = entries[-3], entries[-2]
        with store.database.write() as conn:
            conn.execute("UPDATE audit SET details = ? WHERE id = ?", ("forged", victim.id))
        verdict = store.verify_audit()
        assert not verdict.ok and verdict.first_bad_id == victim.id
        with store.database.write() as conn:
            conn.execute("UPDATE audit SET details = ? WHERE id = ?", (victim.details, victim.id))
            conn.execute("DELETE FROM audit WHERE id = ?", (deleted.id,))
        verdict = store.verify_audit()
        assert not verdict.ok and verdict.first_bad_id is not None
        assert verdict.first_bad_id in (deleted.id, deleted.id + 1)


def test_collectors_on_the_shared_store_share_the_portal(tmp_path: Path) -> None:
    """A sign-in, a session and a pause request made through one collector are seen by another
    (the portal's tables live in PostgreSQL), and erasure removes them for both."""
    from workprint.portal.state import portal_state_for

    with shared(tmp_path) as one, shared(tmp_path) as other:
        subject = enrol(one)
        first, second = portal_state_for(one), portal_state_for(other)
        try:
            first.logins.set_password(subject.person_id, "ada.l", "a long enough passphrase")
            assert second.logins.check("ada.l", "a long enough passphrase").person_id == (
                subject.person_id
            )
            cookie, _ = second.sessions.create(subject.person_id)
            assert first.sessions.get(cookie) is not None
            first.devices.request_pause(subject.person_id, True)
            request = second.devices.pause_request(subject.person_id)
            assert request is not None and request.paused
            assert not (tmp_path / "data" / "portal.db").exists()  # nothing kept locally

            second.forget(subject.person_id, actor="test")
            assert first.logins.account(subject.person_id) is None
            assert first.sessions.get(cookie) is None
            assert first.devices.pause_request(subject.person_id) is None
        finally:
            first.db.close()
            second.db.close()


def test_the_cli_says_in_one_line_why_a_shared_store_cannot_open(tmp_path: Path) -> None:
    """`workprint serve` and every store command: an unreachable database, objects without a
    database, a bad bucket name — exit 2, one line, no password echoed."""
    import os
    import subprocess
    import sys

    from workprint.testbed.ports import free_port

    key = ["--master-key", str(tmp_path / "master.key")]
    cases = [
        (
            [
                "serve",
                "--data",
                str(tmp_path / "d"),
                *key,
                "--database",
                f"postgresql://u:hunter2pw@127.0.0.1:{free_port()}/db",
            ],
            {},
            "cannot connect to postgresql://u@127.0.0.1",
        ),
        (
            ["serve", "--data", str(tmp_path / "d"), *key, "--objects", "s3://bucket/p"],
            {},
            "--objects needs --database",
        ),
        (
            ["admin", "people", "--data", str(tmp_path / "d"), *key],
            {
                "WORKPRINT_DATABASE": "postgresql://u:hunter2pw@h/db",
                "WORKPRINT_OBJECTS": "s3://Bad Bucket/x",
            },
            "not a valid bucket name",
        ),
    ]
    for args, extra, reason in cases:
        env = {**os.environ, **extra}
        done = subprocess.run(
            [sys.executable, "-m", "workprint", *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            stdin=subprocess.DEVNULL,
        )
        assert done.returncode == 2, (args, done.stderr)
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and reason in lines[0], (args, done.stderr)
        assert "hunter2pw" not in done.stderr + done.stdout
