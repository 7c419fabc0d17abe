"""kill -9 the process that ingests into the embedded store: after a restart every batch it
acknowledged is there, exactly once, and the batch in flight is there wholly or not at all; the
files it was writing are cleaned up and the database is intact."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.backend_support import SHARED, backend_environ, referenced_and_stored
from tests.store_support import enrol, master_path, open_store, read_all
from tests.store_writer import event

WRITER = Path(__file__).with_name("store_writer.py")


def run_and_kill(
    tmp_path: Path, token: str, first: int, size: int, acks: int
) -> list[tuple[int, int]]:
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).parents[1]))
    env.update(backend_environ(tmp_path / "data"))
    proc = subprocess.Popen(
        [
            sys.executable,
            str(WRITER),
            str(tmp_path / "data"),
            str(master_path(tmp_path)),
            token,
            str(first),
            str(size),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    try:
        ready = proc.stdout.readline()
        assert ready.startswith("ready"), (ready, proc.stderr.read() if proc.stderr else "")
        acked = [tuple(map(int, proc.stdout.readline().split())) for _ in range(acks)]
        time.sleep(random.uniform(0, 0.03))  # an arbitrary moment, likely inside an ingest
    finally:
        proc.send_signal(signal.SIGKILL)
        rest = proc.stdout.read()  # also what readline() buffered: communicate() would skip it
        proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    # Whole lines only: with PYTHONUNBUFFERED set, the kill may land between the words of the
    # last one; that batch is then checked as the one in flight (wholly there or not at all).
    acked += [tuple(map(int, line.split())) for line in rest.split("\n")[:-1] if line.strip()]
    return [(a, b) for a, b in acked]


@pytest.mark.parametrize("size", [500, 3000])
def test_kill_9_during_ingest_keeps_every_acknowledged_batch(tmp_path: Path, size: int) -> None:
    with open_store(tmp_path) as store:
        subject = enrol(store)
    acked: list[tuple[int, int]] = []
    in_flight: list[tuple[int, int]] = []
    first = 0
    for round_ in range(4):
        got = run_and_kill(tmp_path, subject.token, first, size, acks=2 + round_)
        acked += got
        last = got[-1][1]
        in_flight.append((last + 1, last + size))  # the batch it was writing when killed
        first = last + 1 + size  # the next writer never re-sends it: all-or-nothing shows

    if not SHARED:
        with sqlite3.connect(tmp_path / "data" / "meta.db") as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    with open_store(tmp_path) as store:  # opening removes what a killed ingest left behind
        if SHARED:  # a shared store leaves debris to `collect_debris`: no other writer here
            store.collect_debris(min_age_s=0)
        stored = read_all(store, subject.person_id)
        referenced, on_disk = referenced_and_stored(store)
        assert store.verify_audit().ok
    assert on_disk == referenced
    seqs = [e.seq for e in stored]
    assert len(seqs) == len(set(seqs))  # exactly once
    have = set(seqs)
    for lo, hi in acked:
        assert set(range(lo, hi + 1)) <= have, f"acknowledged batch {lo}..{hi} lost"
    for lo, hi in in_flight:
        part = have & set(range(lo, hi + 1))
        assert not part or len(part) == hi - lo + 1, f"batch {lo}..{hi} stored partially"
    assert stored == [event(s) for s in sorted(have)]
