"""The PostgreSQL metadata backend against a real server (Debian's postgresql, started here):
the test server itself, migrations, the engine's own SQL through the adapter, placeholders, and
bad input at open. Concurrency and faults are in ``test_pg_faults.py``."""

from __future__ import annotations

import multiprocessing
import os
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import psycopg
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.pg_support import (
    STAT_STATEMENTS,
    migrate_in_process,
    new_database,
    new_role,
    open_with_meta,
    postgres_server,
    url_for,
)
from workprint.crypto.envelope import LocalMasterKey
from workprint.portal.db import DDL as PORTAL_DDL
from workprint.store.embedded import audit, commit, consent_store, identity, seqset
from workprint.store.embedded.database import Database
from workprint.store.embedded.ingest import _STATE_SQL
from workprint.store.embedded.keys import DataKeys
from workprint.store.embedded.maintenance import erase
from workprint.store.embedded.reader import file_refs
from workprint.store.embedded.schema import DDL
from workprint.store.embedded.stats import collect_stats
from workprint.store.interface import (
    ConsentRecord,
    CredentialError,
    StoreError,
    StoreUnavailableError,
)
from workprint.store.postgres import PostgresDatabase, migrate
from workprint.store.postgres.connection import translate
from workprint.store.postgres.schema import current_revision, head_revision
from workprint.testbed.ports import free_port
from workprint.testbed.postgres import PostgresServer, PostgresServerError


@pytest.fixture(scope="module")
def pg() -> Iterator[PostgresServer]:
    yield from postgres_server(STAT_STATEMENTS)


def sqlite_layout() -> dict[str, set[str]]:
    """Table → column names, and "index:<name>" → its table, of the embedded schema (the
    store's and the portal's)."""
    conn = sqlite3.connect(":memory:")
    conn.executescript(DDL)
    conn.executescript(PORTAL_DDL)
    layout: dict[str, set[str]] = {}
    for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
        layout[table] = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
    for name, table in conn.execute(
        "SELECT name, tbl_name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
    ):
        layout[f"index:{name}"] = {table}
    conn.close()
    return layout


def postgres_layout(url: str) -> dict[str, set[str]]:
    layout: dict[str, set[str]] = {}
    with psycopg.connect(url) as conn:
        for table, column in conn.execute(
            "SELECT table_name, column_name FROM information_schema.columns"
            " WHERE table_schema = 'public' AND table_name <> 'alembic_version'"
        ):
            layout.setdefault(table, set()).add(column)
        for name, table in conn.execute(
            "SELECT indexname, tablename FROM pg_indexes WHERE schemaname = 'public'"
            " AND indexdef NOT LIKE 'CREATE UNIQUE INDEX%'"
        ):
            layout[f"index:{name}"] = {table}
    return layout


# -- the test server ----------------------------------------------------------------------------


def test_server_is_private_durable_and_counts_statements(pg: PostgresServer) -> None:
    with psycopg.connect(pg.url) as conn:
        settings = {
            name: conn.execute(f"SHOW {name}").fetchone()[0]  # type: ignore[index]
            for name in ("fsync", "listen_addresses", "password_encryption")
        }
    assert settings == {
        "fsync": "on",
        "listen_addresses": "127.0.0.1",
        "password_encryption": "scram-sha-256",
    }
    assert pg.password not in pg.dsn_without_password
    assert pg.dsn_without_password.startswith(f"postgresql://{pg.user}@127.0.0.1:{pg.port}/")
    with psycopg.connect(pg.admin_url, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        conn.execute("SELECT pg_stat_statements_reset()")
        for _ in range(3):
            conn.execute("SELECT 42 AS counted_here")
        calls = conn.execute(
            "SELECT sum(calls) FROM pg_stat_statements WHERE query LIKE '%counted_here%'"
        ).fetchone()
    assert calls is not None and calls[0] == 3


def test_server_that_cannot_start_says_why(tmp_path: Path) -> None:
    server = PostgresServer(settings={"shared_buffers": "not-a-size"})
    with pytest.raises(PostgresServerError, match="shared_buffers") as caught:
        server.__enter__()
    assert "server log" in str(caught.value)
    assert server._root is None  # its directory was removed


# -- migrations -----------------------------------------------------------------------------------


def test_migrations_create_every_table_and_index_and_rerun_as_no_op(pg: PostgresServer) -> None:
    url = new_database(pg)
    assert current_revision(url) is None
    assert migrate(url) == head_revision()
    assert postgres_layout(url) == sqlite_layout()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("INSERT INTO people VALUES ('p_1', 'Ada', 'subject', 'b1', 1, NULL)")
    assert migrate(url) == head_revision()
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT name FROM people").fetchall() == [("Ada",)]


def test_two_processes_migrating_at_once_both_succeed(pg: PostgresServer) -> None:
    url = new_database(pg)
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        revisions = pool.map(migrate_in_process, [url, url])
    assert revisions == [head_revision()] * 2
    assert current_revision(url) == head_revision()


# -- the engine's SQL ----------------------------------------------------------------------------


def test_engine_identity_consent_keys_and_audit_run_unchanged(pg: PostgresServer) -> None:
    db, audit_key = open_with_meta(new_database(pg))
    typed: Database = db  # PostgresDatabase is a Database (checked by mypy)
    keys = DataKeys(LocalMasterKey(os.urandom(32), source="test"))
    with typed.write() as conn:
        person = identity.insert_person(conn, "Ada Lovelace", "subject")
        keys.create(conn, person.id)
        code = identity.create_code(conn, person.id, ttl_s=60)
        audit.append(conn, audit_key, "system", "person.add", person.id)
    with db.write() as conn:
        enrollment = identity.redeem_code(conn, code.lower(), "laptop")
        api_token = identity.create_api_token(conn, person.id)
        consent_store.record(
            conn, person.id, ConsentRecord(t=5, action="grant", scopes=("mouse",), policy_version=1)
        )
        consent_store.record(
            conn,
            person.id,
            ConsentRecord(t=9, action="revoke", scopes=("mouse",), policy_version=1),
        )
        audit.append(conn, audit_key, person.id, "device.enrol", enrollment.device_id)
    with db.write() as conn, pytest.raises(CredentialError):
        identity.redeem_code(conn, code, "again")  # one-time: the row went with RETURNING
    with db.snapshot() as conn:
        principal = identity.authenticate(conn, enrollment.token)
        assert principal is not None and principal.device_id == enrollment.device_id
        api = identity.authenticate(conn, api_token)
        assert api is not None and api.device_id is None
        assert identity.authenticate(conn, enrollment.token + "x") is None
        history = consent_store.history(conn, person.id)
        assert [(r.t, r.action) for r in history] == [(5, "grant"), (9, "revoke")]
        assert len(keys.get(conn, person.id)) == 32
        assert [p.id for p in identity.list_people(conn)] == [person.id]
    with db.write() as conn:
        assert identity.revoke_api_tokens(conn, person.id) == 1
        device = identity.revoke_device(conn, enrollment.device_id)
        assert device.revoked_ns is not None
        seqset.add(conn, enrollment.device_id, [], np.array([1, 2, 3, 7], dtype=np.int64))
        near = seqset.nearby(conn, enrollment.device_id, 4, 6)
        seqset.add(conn, enrollment.device_id, near, np.array([4, 5, 6], dtype=np.int64))
        assert commit._seen_batches(conn, {(enrollment.device_id, "b1")}) == set()
        assert commit._consent_versions(conn, [person.id])[person.id][0] == 2
    with db.read() as conn:
        assert identity.authenticate(conn, enrollment.token) is None
        assert identity.authenticate(conn, api_token) is None
        assert seqset.nearby(conn, enrollment.device_id, 0, 100) == [(1, 7)]
        state = conn.execute(
            _STATE_SQL, ("d", "b", enrollment.device_id, enrollment.device_id, person.id)
        ).fetchone()
        assert state is not None and state[3] == 2 and not state[5]
        assert file_refs(conn, person.id, None, None) == []  # '? IS NULL' with None
        stats = collect_stats(conn, db.metadata_bytes())
        assert stats.people == 1 and stats.devices == 1 and stats.metadata_bytes > 0
    with db.write() as conn:
        outcome = erase(conn, keys, person.id)  # zeroblob() and the DELETEs of an erasure
        audit.append(conn, audit_key, "system", "person.forget", person.id)
    assert outcome.key_destroyed and outcome.devices_revoked == 0
    with db.read() as conn:
        with pytest.raises(CredentialError):
            keys.get(conn, person.id)
        verdict = audit.verify(conn, audit_key)
        entries = audit.entries(conn)
    assert verdict.ok and verdict.entries == 3 == len(entries)
    assert [e.action for e in entries] == ["person.add", "device.enrol", "person.forget"]
    db.close()


def test_failed_statement_is_one_line_store_error_and_rolls_back(pg: PostgresServer) -> None:
    db, _ = open_with_meta(new_database(pg))
    with db.write() as conn:
        person = identity.insert_person(conn, "Ada", "subject")
    with pytest.raises(StoreError) as caught, db.write() as conn:
        identity.insert_person(conn, "Grace", "subject")
        conn.execute(
            "INSERT INTO people (id, name, role, bucket, created_ns) VALUES (?, ?, ?, ?, ?)",
            (person.id, "dup", "subject", "other", 1),
        )
    assert not isinstance(caught.value, StoreUnavailableError)
    assert "\n" not in str(caught.value) and "people_pkey" in str(caught.value)
    with db.read() as conn:
        assert [p.name for p in identity.list_people(conn)] == ["Ada"]  # Grace rolled back

    # a caller that catches the failure and leaves cleanly must not believe it committed
    with pytest.raises(StoreError, match="rolled back"), db.write() as conn:
        identity.insert_person(conn, "Grace", "subject")
        with pytest.raises(StoreError):
            conn.execute("INSERT INTO people (id) VALUES (?)", (person.id,))
    with db.write() as conn:
        identity.insert_person(conn, "Hedy", "subject")
    with db.read() as conn:
        assert [p.name for p in identity.list_people(conn)] == ["Ada", "Hedy"]
    db.close()


def test_scrub_rewrites_tables_and_checkpoints_when_permitted(pg: PostgresServer) -> None:
    url = new_database(pg)
    db = PostgresDatabase.open(url)
    with psycopg.connect(url) as conn:
        before = conn.execute("SELECT pg_relation_filenode('people')").fetchone()
    assert db.scrub() is True
    with psycopg.connect(url) as conn:
        after = conn.execute("SELECT pg_relation_filenode('people')").fetchone()
    assert before != after  # VACUUM FULL wrote a new file
    db.close()

    password = new_role(pg, "no_checkpoint")
    other = url_for(pg, new_database(pg, owner="no_checkpoint"), "no_checkpoint", password)
    db = PostgresDatabase.open(other)
    assert db.scrub() is False  # CHECKPOINT needs pg_checkpoint
    db.close()

    not_owner = new_role(pg, "not_owner")
    with psycopg.connect(pg.admin_url, autocommit=True) as conn:
        conn.execute("GRANT pg_checkpoint TO not_owner")
    db = PostgresDatabase(url_for(pg, url, "not_owner", not_owner))
    assert db.scrub() is False  # VACUUM skips tables the role does not own
    db.close()


def test_round_trips_count_statements_sent(pg: PostgresServer) -> None:
    db, _ = open_with_meta(new_database(pg))
    before = db.round_trips
    with db.write() as conn:
        conn.execute("SELECT 1")
        conn.executemany("SELECT ?", [(1,), (2,), (3,)])  # pipelined: one round trip
    assert db.round_trips - before == 1 + 2 + 1  # BEGIN with the lock, two sends, COMMIT
    db.close()


# -- placeholders ---------------------------------------------------------------------------------


def untranslate(text: str) -> str:
    return re.sub(r"%(%|s)", lambda m: "%" if m.group(1) == "%" else "?", text)


@given(st.text(alphabet="?%'\"-*/\n abs", max_size=40))
def test_translation_only_rewrites_placeholders_and_percent(sql: str) -> None:
    translated = translate(sql)
    assert untranslate(translated) == sql
    assert "%" not in re.sub(r"%%|%s", "", translated)


def test_question_marks_in_literals_and_comments_are_not_placeholders(pg: PostgresServer) -> None:
    db = PostgresDatabase.open(new_database(pg))
    with db.read() as conn:
        row = conn.execute(
            "SELECT '?''?', ? /* ? */, '100%', \"x?\" FROM (SELECT 1 AS \"x?\") t -- ?\n"
            " WHERE ? IS NULL",
            ("value", None),
        ).fetchone()
    assert row == ("?'?", "value", "100%", 1)
    db.close()


# -- bad input at open ---------------------------------------------------------------------------


def test_open_with_wrong_password_or_port_or_url_is_one_line(pg: PostgresServer) -> None:
    wrong = pg.url.replace(f":{pg.password}@", ":not-the-password@")
    with pytest.raises(StoreError) as caught:
        PostgresDatabase.open(wrong)
    message = str(caught.value)
    assert not isinstance(caught.value, StoreUnavailableError)
    assert "password authentication failed" in message
    assert "\n" not in message and "not-the-password" not in message

    closed_port = pg.url.replace(f":{pg.port}/", f":{free_port()}/")
    with pytest.raises(StoreUnavailableError) as unreachable:
        PostgresDatabase.open(closed_port)
    assert "\n" not in str(unreachable.value) and "refused" in str(unreachable.value).lower()

    with pytest.raises(StoreError, match="postgresql://"):
        PostgresDatabase.open("mysql://root@localhost/db")
