"""Writing-process builder throughput on a synthetic workforce stream: fast path vs reference.

The stream is many recording sessions of a plausible office day, ~90% mouse: strokes of
coalesced moves at ~60 Hz, clicks, scroll bursts, window switches between ~8 windows, and typing
of real words (Shift for capitals, typos fixed with BackSpace, arrow-key returns into the text,
Ctrl+BackSpace, Ctrl+A/C/V, Return, 2 s+ pauses). Sessions are generated with NumPy straight into
the Arrow event schema (fixed seed) and fed one session per batch through the in-process
executor. Each builder runs in its own child process with Arrow's thread pool set to 1, so the
rate (events / CPU seconds of the builder calls, which a busy machine does not inflate) is per
core and each peak RSS is that builder's alone; only the builder call is timed. Both children
hash their output: the run checks it is identical.

usage: .venv/bin/python bench/writing_throughput.py [--events N] [--session-events S]
"""

from __future__ import annotations

import argparse
import hashlib
import multiprocessing as mp
import resource
import time
from collections.abc import Iterator
from typing import Any

import msgspec
import numpy as np
import pyarrow as pa

from workprint.builders.executor import InProcessExecutor
from workprint.builders.writing import WritingConfig, build_writing, build_writing_reference
from workprint.events.columnar import EVENT_SCHEMA

TYPES = ["key_down", "key_up", "mouse_move", "mouse_down", "mouse_up", "scroll", "window_focus"]
KD, KU, MM, MD, MU, SC, WF = range(len(TYPES))
WORDS = [
    "the",
    "report",
    "for",
    "the",
    "quarter",
    "shows",
    "that",
    "our",
    "team",
    "closed",
    "most",
    "tickets",
    "within",
    "two",
    "days",
    "Die",
    "Ergebnisse",
    "zeigen",
    "dass",
    "wir",
    "über",
    "dem",
    "Ziel",
    "liegen",
    "and",
    "the",
    "next",
    "steps",
    "are",
    "clear",
    "Please",
    "review",
    "the",
    "attached",
    "draft",
    "before",
    "Friday",
    "größere",
    "Änderungen",
    "bitte",
    "markieren",
]
APPS = [("firefox", "Inbox - Mail"), ("code", "main.py - project"), ("soffice", "Q3 report.odt"),
        ("slack", "#team"), ("xterm", "~/work"), ("firefox", "Search"), ("evince", "spec.pdf"),
        ("soffice", "notes.odt")]  # fmt: skip
NAMES = {" ": "space", ".": "period", ",": "comma", "\n": "Return", "ü": "udiaeresis",
         "ö": "odiaeresis", "ä": "adiaeresis", "Ä": "Adiaeresis", "ß": "ssharp"}  # fmt: skip


class Session:
    """Columns of one session under construction (key fields only on key rows)."""

    def __init__(self, rng: np.random.Generator, name: str) -> None:
        self.rng, self.name = rng, name
        self.t = 1_700_000_000_000_000_000 + int(rng.integers(0, 10**12))
        self.kind: list[np.ndarray] = []
        self.time: list[np.ndarray] = []
        self.xy: list[np.ndarray] = []
        self.keys: dict[int, tuple[str, str | None, str, tuple[str, ...]]] = {}
        self.focus: dict[int, int] = {}
        self.size = 0
        self.x, self.y = 960, 540

    def add(self, kinds: np.ndarray, gaps_ms: np.ndarray, xy: np.ndarray | None = None) -> int:
        times = self.t + np.cumsum(gaps_ms * 1_000_000).astype(np.int64)
        self.t = int(times[-1])
        self.kind.append(kinds.astype(np.int8))
        self.time.append(times)
        self.xy.append(xy if xy is not None else np.zeros((len(kinds), 2), np.int32))
        first = self.size
        self.size += len(kinds)
        return first

    def mouse(self) -> None:
        rng = self.rng
        for _ in range(int(rng.integers(1, 6))):
            tx, ty = int(rng.integers(0, 1920)), int(rng.integers(0, 1080))
            steps = int(max(3, np.hypot(tx - self.x, ty - self.y) / rng.uniform(4, 12)))
            path = np.linspace((self.x, self.y), (tx, ty), steps + 1)[1:].astype(np.int32)
            self.add(np.full(steps, MM), rng.uniform(14, 19, steps), path)
            self.x, self.y = tx, ty
            roll = rng.random()
            if roll < 0.35:
                self.add(np.array([MD, MU]), rng.uniform(60, 140, 2), np.array([[tx, ty]] * 2))
            elif roll < 0.5:
                n = int(rng.integers(2, 8))
                self.add(np.full(n, SC), rng.uniform(30, 80, n), np.array([[tx, ty]] * n))

    def key(self, name: str, char: str | None, cls: str, mods: tuple[str, ...], gap: float) -> None:
        at = self.add(np.array([KD, KU]), np.array([gap, self.rng.uniform(60, 110)]))
        self.keys[at] = self.keys[at + 1] = (name, char, cls, mods)

    def type_text(self) -> None:
        rng = self.rng
        for _ in range(int(rng.integers(3, 25))):
            word = WORDS[int(rng.integers(len(WORDS)))]
            if rng.random() < 0.04:
                word = word + WORDS[int(rng.integers(len(WORDS)))][:2]  # a typo, fixed below
                fix = 2
            else:
                fix = 0
            for c in word + (" " if rng.random() > 0.08 else ".\n"):
                gap = rng.lognormal(np.log(150), 0.5) + (2500 if rng.random() < 0.02 else 0)
                if c.isupper():
                    self.key("Shift_L", None, "modifier", (), gap)
                    gap = 40.0
                cls = "space" if c == " " else "letter" if c.isalpha() else "punctuation"
                name = NAMES.get(c, c)
                self.key(
                    name, c, "editing" if c == "\n" else cls, ("shift",) if c.isupper() else (), gap
                )
            for _ in range(fix):
                self.key("BackSpace", None, "editing", (), rng.lognormal(np.log(250), 0.4))
            roll = rng.random()
            if roll < 0.02:
                for _ in range(int(rng.integers(1, 8))):
                    self.key("Left", None, "navigation", (), 120.0)
                self.key("e", "e", "letter", (), 200.0)
                self.key("End", None, "navigation", (), 300.0)
            elif roll < 0.03:
                self.key("BackSpace", None, "editing", ("ctrl",), 300.0)
            elif roll < 0.035:
                for name in ("a", "c", "v"):
                    self.key(name, name, "letter", ("ctrl",), 200.0)

    def switch(self) -> None:
        window = int(self.rng.integers(len(APPS)))
        at = self.add(np.array([WF]), np.array([self.rng.uniform(200, 900)]))
        self.focus[at] = window

    def table(self) -> pa.Table:
        n = self.size
        kind = np.concatenate(self.kind)
        xy = np.concatenate(self.xy)
        names: list[str | None] = [None] * n
        chars: list[str | None] = [None] * n
        classes: list[str | None] = [None] * n
        mods: list[list[str] | None] = [None] * n
        for row, (name, char, cls, held) in self.keys.items():
            names[row], chars[row], classes[row], mods[row] = name, char, cls, list(held)
        apps: list[str | None] = [None] * n
        titles: list[str | None] = [None] * n
        windows = np.zeros(n, np.int64)
        for row, window in self.focus.items():
            apps[row], titles[row] = APPS[window]
            windows[row] = 0x400000 + window
        pointer = (kind == MM) | (kind == MD) | (kind == MU) | (kind == SC)
        button = (kind == MD) | (kind == MU)
        scroll = kind == SC
        columns: dict[str, Any] = {
            "type": pa.DictionaryArray.from_arrays(pa.array(kind), TYPES),
            "t": np.concatenate(self.time),
            "session": pa.DictionaryArray.from_arrays(pa.array(np.zeros(n, np.int32)), [self.name]),
            "seq": np.arange(1, n + 1, dtype=np.int64),
            "cls": pa.array(classes, pa.string()).dictionary_encode(),
            "key": names,
            "char": chars,
            "mods": mods,
            "x": pa.array(xy[:, 0], mask=~pointer),
            "y": pa.array(xy[:, 1], mask=~pointer),
            "button": pa.array(np.ones(n, np.int8), mask=~button),
            "dx": pa.array(np.zeros(n, np.int32), mask=~scroll),
            "dy": pa.array(np.ones(n, np.int32), mask=~scroll),
            "app": apps,
            "title": titles,
            "window": pa.array(windows, mask=kind != WF),
        }
        arrays = []
        for field in EVENT_SCHEMA:
            value = columns.get(field.name)
            if value is None:
                arrays.append(pa.nulls(n, field.type))
            elif isinstance(value, pa.Array):
                arrays.append(value.cast(field.type))
            else:
                arrays.append(pa.array(value, type=field.type))
        return pa.Table.from_arrays(arrays, schema=EVENT_SCHEMA)


def session_table(seed: int, index: int, events: int) -> pa.Table:
    rng = np.random.default_rng([seed, index])
    session = Session(rng, f"sess{index:05d}")
    session.switch()
    while session.size < events:
        roll = rng.random()
        if roll < 0.04:
            session.switch()
        elif roll < 0.19:
            session.type_text()
        else:
            session.mouse()
    return session.table()


def stream(seed: int, total: int, per_session: int) -> Iterator[pa.Table]:
    made = index = 0
    while made < total:
        table = session_table(seed, index, min(per_session, total - made))
        made += table.num_rows
        index += 1
        yield table


def run(which: str, seed: int, total: int, per_session: int, out: Any) -> None:
    """In a child: build every batch with one builder, time only the builder."""
    pa.set_cpu_count(1)
    pa.set_io_thread_count(1)
    builder = build_writing if which == "fast" else build_writing_reference
    config = WritingConfig()
    spent = cpu = 0.0
    counts = {"events": 0, "mouse": 0, "key_down": 0}
    digest = hashlib.sha256()
    records = 0

    def timed(table: pa.Table) -> pa.Table:
        nonlocal spent, cpu
        kinds = table.column("type").combine_chunks().indices.to_numpy()
        counts["events"] += table.num_rows
        counts["mouse"] += int(np.isin(kinds, [MM, MD, MU, SC]).sum())
        counts["key_down"] += int((kinds == KD).sum())
        start, start_cpu = time.perf_counter(), time.process_time()
        result = builder(table, config)
        spent += time.perf_counter() - start
        cpu += time.process_time() - start_cpu
        return result

    for result in InProcessExecutor().map_batches(timed, stream(seed, total, per_session)):
        records += result.num_rows
        digest.update(msgspec.msgpack.encode(result.to_pylist()))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out.send({**counts, "seconds": spent, "cpu": cpu, "records": records, "peak_mb": peak_mb,
              "digest": digest.hexdigest()})  # fmt: skip


def child(which: str, args: argparse.Namespace) -> dict[str, Any]:
    receive, send = mp.Pipe(duplex=False)
    process = mp.get_context("spawn").Process(
        target=run, args=(which, args.seed, args.events, args.session_events, send)
    )
    process.start()
    result: dict[str, Any] = receive.recv()
    process.join()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--session-events", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    fast = child("fast", args)
    reference = child("reference", args)
    print(f"{fast['events']:,} events in {fast['records']:,} documents; "
          f"{fast['mouse'] / fast['events']:.1%} mouse, {fast['key_down']:,} key-downs; "
          f"batches of {args.session_events:,} events (one session each)")  # fmt: skip
    print("| builder | wall s | CPU s | events/s per core (CPU) | peak RSS MB |")
    print("|---|---:|---:|---:|---:|")
    for name, r in (("fast", fast), ("reference", reference)):
        rate = r["events"] / r["cpu"]
        print(
            f"| {name} | {r['seconds']:.2f} | {r['cpu']:.2f} | {rate:,.0f} | {r['peak_mb']:.0f} |"
        )
    print(f"speed-up (CPU): {reference['cpu'] / fast['cpu']:.1f}x; identical output: "
          f"{fast['digest'] == reference['digest']}")  # fmt: skip


if __name__ == "__main__":
    main()
