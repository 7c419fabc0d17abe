"""kill -9 a process while it writes to the spool: every seq it reported as committed is there,
none is duplicated, and the next writer continues after the last one without reuse."""

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

from workprint.crypto import load_or_create_device_key
from workprint.spool import Spool

WRITER = Path(__file__).with_name("spool_writer.py")
DEVICE = "c0ffee00c0ffee00c0ffee00c0ffee00"


def start_writer(home: Path, interval: float, size: int) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).parents[1]))
    return subprocess.Popen(
        [
            sys.executable,
            str(WRITER),
            str(home / "spool.db"),
            str(home / "device.key"),
            DEVICE,
            str(interval),
            str(size),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def run_and_kill(home: Path, interval: float, size: int, lines: int) -> list[int]:
    """Start a writer, read ``lines`` commit reports, kill -9 it; all seqs it reported."""
    proc = start_writer(home, interval, size)
    assert proc.stdout is not None
    try:
        ready = proc.stdout.readline()
        assert ready.startswith("ready"), (ready, proc.stderr.read() if proc.stderr else "")
        reported = [int(proc.stdout.readline()) for _ in range(lines)]
        if not interval:  # kill at an arbitrary moment, likely inside a transaction
            time.sleep(random.uniform(0, 0.05))
    finally:
        proc.send_signal(signal.SIGKILL)
        rest, _ = proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    reported += [int(line) for line in rest.split()]  # committed before the kill, buffered
    return reported


@pytest.mark.parametrize(
    ("interval", "size", "lines"),
    [(0.1, 50, 5), (0.0, 250, 40)],
    ids=["every-100ms", "flat-out"],
)
def test_kill_9_loses_no_committed_seq_and_reuses_none(
    tmp_path: Path, interval: float, size: int, lines: int
) -> None:
    key = load_or_create_device_key(tmp_path / "device.key", "file")
    reported: list[int] = []
    for _ in range(3):  # three writers in a row, each killed
        reported += run_and_kill(tmp_path, interval, size, lines)
    assert reported == sorted(reported) and len(set(reported)) == len(reported)
    db = sqlite3.connect(tmp_path / "spool.db")
    assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    db.close()

    with Spool.open(tmp_path / "spool.db", key, device_id=DEVICE) as spool:
        seqs = [event.seq for event in spool.iter_events()]
        assert seqs == list(range(1, len(seqs) + 1))  # consecutive: no gap, no duplicate
        assert set(reported) <= set(seqs)
        assert spool.stats().next_seq == seqs[-1] + 1
        assert spool.stats().dropped_events == 0
        batch_seqs = [(b.first_seq, b.last_seq) for b in spool.pending(limit=10_000)]
        assert all(b.last_seq - b.first_seq + 1 == b.n_events for b in spool.pending(10_000))
        assert [first for first, _ in batch_seqs] == sorted(first for first, _ in batch_seqs)
        info = spool.append([spool.pending(1)[0].events[0]])
        assert info is not None and info.first_seq == seqs[-1] + 1
