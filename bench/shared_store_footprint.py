"""Stored bytes per event on the shared backend: PostgreSQL metadata and S3 objects.

The capacity model in docs/deployment.md needs what one stored event costs in each of the two
places the shared store writes: the PostgreSQL database (file index, de-duplication state,
batch records, audit chain — measured as the growth of ``pg_database_size`` after a ``VACUUM``)
and the bucket (sealed Parquet objects), while batches arrive and after the nightly
``compact``. Events are the realistic recorder mix of ``workprint.testbed.synthetic_events``,
ingested through the store API (no HTTP: that is measured by ``collectors_scale.py``) from
``--devices`` devices in batches of ``--batch`` events, all on one past day so that ``compact``
applies to them. Starts its own PostgreSQL (Debian's) and S3 server (moto) on 127.0.0.1.

usage: .venv/bin/python bench/shared_store_footprint.py [--devices 50] [--batches 40] [--batch 250]
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
from pathlib import Path

import msgspec
import psycopg

from workprint.crypto.envelope import FileMasterKey
from workprint.events import SCOPES
from workprint.events.columnar import events_to_table
from workprint.store.backends import open_store
from workprint.store.embedded import EmbeddedStore, files
from workprint.store.interface import ConsentRecord, Principal
from workprint.testbed.postgres import PostgresServer
from workprint.testbed.s3 import S3Server
from workprint.testbed.synthetic_events import device_output

DAY_NS = 86_400 * 10**9


def database_bytes(url: str) -> int:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM")
        row = conn.execute("SELECT pg_database_size(current_database())").fetchone()
        assert row is not None
        return int(row[0])


def enrol(store: EmbeddedStore, devices: int) -> list[Principal]:
    principals = []
    for i in range(devices):
        person = store.add_person(f"P{i}", "subject")
        code = store.create_enrollment_code(person.id)
        token = store.redeem_enrollment_code(code, f"dev{i}").token
        store.record_consent(
            person.id, ConsentRecord(t=0, action="grant", scopes=SCOPES, policy_version=1)
        )
        principal = store.authenticate(token)
        assert principal is not None
        principals.append(principal)
    return principals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", type=int, default=50)
    parser.add_argument("--batches", type=int, default=40, help="batches per device")
    parser.add_argument("--batch", type=int, default=250, help="events per batch")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp, PostgresServer() as pg, S3Server() as s3:
        s3.create_bucket("footprint")
        master = FileMasterKey(Path(tmp) / "master.key")
        os.environ.update(s3.environ())
        store = open_store(
            Path(tmp) / "data", master, database=pg.url, objects="s3://footprint/bench"
        )
        with store:
            principals = enrol(store, args.devices)
            empty = database_bytes(pg.url)
            day = (time.time_ns() // DAY_NS - 2) * DAY_NS  # a past day: compact applies
            rng = random.Random(20261123)
            streams = [device_output(rng, day + 3600 * 10**9) for _ in principals]
            events = 0
            started = time.perf_counter()
            for b in range(args.batches):
                for principal, stream in zip(principals, streams, strict=True):
                    first = b * args.batch
                    batch = [
                        msgspec.structs.replace(next(stream), seq=first + i)
                        for i in range(args.batch)
                    ]
                    result = store.ingest(principal, f"b{b}", events_to_table(batch))
                    events += result.accepted
            elapsed = time.perf_counter() - started
            store.compactor.drain()
            meta = database_bytes(pg.url) - empty
            objects = store.storage.total_bytes()
            merged = store.compact(files.day_of(day + 3600 * 10**9), actor="bench")
            meta_after = database_bytes(pg.url) - empty
            objects_after = store.storage.total_bytes()
    print(
        f"{events:,} events from {args.devices} devices in {args.batch}-event batches "
        f"({events / elapsed:,.0f} ev/s through the store API, one thread)"
    )
    print("| | PostgreSQL B/event | objects B/event | total B/event |")
    print("|---|---:|---:|---:|")
    print(
        f"| as ingested | {meta / events:.2f} | {objects / events:.2f} | "
        f"{(meta + objects) / events:.2f} |"
    )
    print(
        f"| after compact ({merged:,} files merged) | {meta_after / events:.2f} | "
        f"{objects_after / events:.2f} | {(meta_after + objects_after) / events:.2f} |"
    )


if __name__ == "__main__":
    main()
