"""Action reducer throughput: the fast reducer and the per-event reference on the same synthetic
workforce stream, single-threaded, with each phase's peak memory.

    .venv/bin/python bench/actions_throughput.py                 # 10 M events, 100 sessions
    .venv/bin/python bench/actions_throughput.py --events 2000000 --reference-events 500000

The stream is generated directly in Arrow with a fixed seed: people working in sessions of
~100k events — pointer approaches (~8 ms apart) ending in clicks, double clicks and drags, wheel
bursts, typing with Shift, BackSpace and arrows, hotkeys, Enter/Tab and window switches; ~90% of
events are mouse events. It is written to a Parquet file (one row group per session); each phase
runs in its own process, reading one session at a time through the in-process executor, so its
peak RSS is its own. The reference runs on the first sessions only (``--reference-events``) and
its rate is per event; both rates are events per CPU-second of one core.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from workprint.builders.actions import (
    actions_to_table,
    reduce_actions,
    reduce_actions_reference,
    reduce_events_reference,
)
from workprint.builders.executor import InProcessExecutor
from workprint.events.columnar import EVENT_SCHEMA, table_to_events

TYPES = ["mouse_move", "mouse_down", "mouse_up", "scroll", "key_down", "key_up"]
TYPES += ["window_focus", "session_start", "session_stop"]
M, P, R, S, KD, KU, F, START, STOP = range(9)
LETTERS = "etaoinshrdlucmfwypvbgkjqxz"
KEYS: list[tuple[str, str | None, str]] = [(c, c, "letter") for c in LETTERS]
KEYS += [(c.upper(), c.upper(), "letter") for c in LETTERS]
KEYS += [("space", " ", "space"), ("comma", ",", "punctuation"), ("period", ".", "punctuation")]
KEYS += [("BackSpace", None, "editing"), ("Left", None, "navigation")]
KEYS += [("Right", None, "navigation"), ("Return", "\n", "editing"), ("Tab", "\t", "navigation")]
KEYS += [("Shift_L", None, "modifier"), ("Control_L", None, "modifier")]
K = {name: i for i, (name, _, _) in enumerate(KEYS)}
MODS = [[], ["shift"], ["ctrl"]]
APPS = ["firefox", "code", "xterm", "libreoffice", "slack"]


class Session:
    """Column lists for one session; segments append numpy pieces."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.parts: dict[str, list[np.ndarray[Any, Any]]] = {
            k: [] for k in ("type", "dt", "x", "y", "button", "dy", "key", "mods", "app")
        }
        self.x, self.y = 960, 540
        self.n = 0

    def add(self, typ: Any, dt: Any, **cols: Any) -> None:
        n = len(typ)
        self.parts["type"].append(np.asarray(typ, np.int8))
        self.parts["dt"].append(np.asarray(dt, np.int64))
        for name, fill in (("x", -1), ("y", -1), ("button", 0), ("dy", 0), ("key", -1)):
            value = cols.get(name, fill)
            self.parts[name].append(np.broadcast_to(np.asarray(value, np.int64), n))
        self.parts["mods"].append(np.broadcast_to(np.asarray(cols.get("mods", 0), np.int64), n))
        self.parts["app"].append(np.broadcast_to(np.asarray(cols.get("app", -1), np.int64), n))
        self.n += n

    def approach(self) -> None:
        rng = self.rng
        n = int(rng.geometric(1 / 60))
        tx, ty = rng.integers(0, 1920), rng.integers(0, 1080)
        f = np.linspace(0, 1, n + 1)[1:]
        xs = (self.x + (tx - self.x) * f + rng.normal(0, 2, n)).astype(np.int64)
        ys = (self.y + (ty - self.y) * f + rng.normal(0, 2, n)).astype(np.int64)
        self.add(np.full(n, M), rng.integers(6, 11, n) * 1_000_000, x=xs, y=ys)
        self.x, self.y = int(xs[-1]), int(ys[-1])

    def click(self, button: int = 1, times: int = 1) -> None:
        rng = self.rng
        for i in range(times):
            press_gap = rng.integers(150, 900) if i == 0 else rng.integers(60, 140)
            dts = [press_gap * 1_000_000, rng.integers(60, 140) * 1_000_000]
            self.add([P, R], dts, x=self.x, y=self.y, button=button)

    def drag(self) -> None:
        rng = self.rng
        self.add([P], [rng.integers(150, 600) * 1_000_000], x=self.x, y=self.y, button=1)
        self.approach()
        self.add([R], [rng.integers(20, 80) * 1_000_000], x=self.x, y=self.y, button=1)

    def scroll(self) -> None:
        rng = self.rng
        notches = int(rng.integers(2, 12))
        direction = 1 if rng.random() < 0.3 else -1
        for _ in range(notches):
            if rng.random() < 0.5:
                jitter = int(rng.integers(1, 4))
                xs = self.x + rng.integers(-2, 3, jitter)
                self.add(
                    np.full(jitter, M), rng.integers(5, 20, jitter) * 1_000_000, x=xs, y=self.y
                )
            self.add([S], [rng.integers(20, 250) * 1_000_000], x=self.x, y=self.y, dy=direction)

    def key(self, index: int, mods: int = 0, gap_ms: int = 120) -> None:
        rng = self.rng
        dts = [rng.integers(gap_ms // 2, gap_ms * 2) * 1_000_000, rng.integers(40, 110) * 1_000_000]
        self.add([KD, KU], dts, key=index, mods=mods)

    def typing(self) -> None:
        rng = self.rng
        for _ in range(int(rng.integers(5, 60))):
            roll = rng.random()
            if roll < 0.04:
                self.add([KD], [rng.integers(30, 90) * 1_000_000], key=K["Shift_L"], mods=1)
                self.key(K[LETTERS[rng.integers(0, 26)].upper()], mods=1)
                self.add([KU], [rng.integers(10, 40) * 1_000_000], key=K["Shift_L"], mods=1)
            elif roll < 0.10:
                self.key(K["BackSpace"])
            elif roll < 0.12:
                self.key(K["Left"] if rng.random() < 0.5 else K["Right"])
            elif roll < 0.27:
                self.key(K["space"])
            else:
                self.key(int(rng.integers(0, 26)))

    def hotkey(self) -> None:
        rng = self.rng
        self.add([KD], [rng.integers(200, 900) * 1_000_000], key=K["Control_L"], mods=2)
        self.key(K["csvz"[rng.integers(0, 4)]], mods=2)
        self.add([KU], [rng.integers(30, 90) * 1_000_000], key=K["Control_L"], mods=2)

    def focus(self) -> None:
        self.add([F], [self.rng.integers(100, 400) * 1_000_000], app=int(self.rng.integers(0, 5)))

    def segment(self) -> None:
        roll = self.rng.random()
        if roll < 0.55:
            self.approach()
            self.click(times=2 if self.rng.random() < 0.1 else 1)
        elif roll < 0.60:
            self.approach()
            self.click(button=3)
        elif roll < 0.64:
            self.approach()
            self.drag()
        elif roll < 0.76:
            self.approach()
            self.scroll()
        elif roll < 0.83:
            self.typing()
        elif roll < 0.89:
            self.hotkey()
        elif roll < 0.94:
            self.key(K["Return"] if self.rng.random() < 0.7 else K["Tab"], gap_ms=400)
        else:
            self.focus()


_KEY = pa.array([k for k, _, _ in KEYS])
_CHAR = pa.array([c for _, c, _ in KEYS])
_CLS = pa.array([c for _, _, c in KEYS])
_MODS = pa.array(MODS, pa.list_(pa.string()))


def session_table(number: int, events: int, seed: int) -> pa.Table:
    rng = np.random.default_rng([seed, number])
    s = Session(rng)
    s.add([START], [0])
    while s.n < events - 1:
        s.segment()
    s.add([STOP], [rng.integers(100, 1000) * 1_000_000])
    cols = {k: np.concatenate(v) for k, v in s.parts.items()}
    n = len(cols["type"])
    t = (1_700_000_000 + number * 36_000) * 10**9 + np.cumsum(cols["dt"])
    typ = cols["type"]
    is_key = (typ == KD) | (typ == KU)
    ptr = typ <= S
    key_idx = pa.array(cols["key"], mask=~is_key)
    typ_arr = pa.DictionaryArray.from_arrays(pa.array(typ), pa.array(TYPES))
    session = pa.DictionaryArray.from_arrays(np.zeros(n, np.int32), pa.array([f"person{number}"]))
    data: dict[str, Any] = {
        "type": typ_arr.cast(EVENT_SCHEMA.field("type").type),
        "t": t,
        "session": session,
        "seq": np.arange(n, dtype=np.int64),
        "cls": _CLS.take(key_idx).dictionary_encode().cast(EVENT_SCHEMA.field("cls").type),
        "key": _KEY.take(key_idx),
        "char": _CHAR.take(key_idx),
        "mods": _MODS.take(pa.array(cols["mods"], mask=~is_key)),
        "x": pa.array(cols["x"].astype(np.int32), mask=~ptr),
        "y": pa.array(cols["y"].astype(np.int32), mask=~ptr),
        "button": pa.array(cols["button"].astype(np.int8), mask=~((typ == P) | (typ == R))),
        "dx": pa.array(np.zeros(n, np.int32), mask=typ != S),
        "dy": pa.array(cols["dy"].astype(np.int32), mask=typ != S),
        "app": pa.array([*APPS, None]).take(pa.array(np.where(typ == F, cols["app"], 5))),
        "window": pa.array(cols["app"] + 100, mask=typ != F),
        "screen_w": pa.array(np.full(n, 1920, np.int32), mask=typ != START),
        "screen_h": pa.array(np.full(n, 1080, np.int32), mask=typ != START),
        "device": pa.array(np.where(typ == START, "bench", None)),
    }
    arrays = []
    for field in EVENT_SCHEMA:
        value = data.get(field.name)
        if value is None:
            arrays.append(pa.nulls(n, field.type))
        else:
            arrays.append(pa.array(value, field.type) if isinstance(value, np.ndarray) else value)
    return pa.Table.from_arrays(arrays, schema=EVENT_SCHEMA)


def generate(path: Path, events: int, per_session: int, seed: int) -> dict[str, Any]:
    counts = np.zeros(len(TYPES), np.int64)
    with pq.ParquetWriter(path, EVENT_SCHEMA, compression="zstd") as writer:
        for number in range(max(1, events // per_session)):
            table = session_table(number, per_session, seed)
            writer.write_table(table, row_group_size=table.num_rows + 1)
            names = table.column("type").cast(pa.string()).to_numpy(zero_copy_only=False)
            for i, name in enumerate(TYPES):
                counts[i] += int((names == name).sum())
    total = int(counts.sum())
    mouse = int(counts[:4].sum())
    return {
        "events": total,
        "mouse_share": round(mouse / total, 3),
        "by_type": dict(zip(TYPES, counts.tolist(), strict=True)),
    }


def sessions(path: Path, limit_events: int | None = None) -> Iterator[pa.Table]:
    reader = pq.ParquetFile(path)
    seen = 0
    for i in range(reader.num_row_groups):
        if limit_events is not None and seen >= limit_events:
            return
        table = reader.read_row_group(i)
        seen += table.num_rows
        yield table


def peak_rss() -> int:
    """This process's peak resident set in bytes. VmHWM, not ru_maxrss: Linux carries
    ru_maxrss across exec, so a child would report the parent's peak at fork time."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def run_phase(phase: str, path: Path, limit: int | None) -> dict[str, Any]:
    pa.set_cpu_count(1)
    pa.set_io_thread_count(1)
    baseline = peak_rss()
    events = actions = 0
    cpu = wall = convert = 0.0
    largest = 0
    executor = InProcessExecutor()
    for table in sessions(path, limit):
        events += table.num_rows
        largest = max(largest, table.nbytes)
        c0, w0 = time.process_time(), time.perf_counter()
        if phase == "fast":
            (out,) = executor.map_batches(reduce_actions, [table])
        else:  # the reference as it runs on a table: structs, the per-event loop, a table back
            structs = table_to_events(table)
            convert += time.process_time() - c0
            out = actions_to_table(reduce_events_reference(structs))
        cpu += time.process_time() - c0
        wall += time.perf_counter() - w0
        actions += out.num_rows
    rss = peak_rss()
    result = {
        "phase": phase,
        "events": events,
        "actions": actions,
        "cpu_s": round(cpu, 2),
        "wall_s": round(wall, 2),
        "events_per_cpu_s": round(events / cpu),
        "peak_rss_mb": round(rss / 2**20, 1),
        "rss_before_mb": round(baseline / 2**20, 1),
        "largest_session_mb": round(largest / 2**20, 1),
    }
    if phase == "reference":
        result["loop_events_per_cpu_s"] = round(events / (cpu - convert))
    return result


def check_identical(path: Path, limit: int) -> int:
    """The fast reducer's output equals the reference's on every benchmarked session."""
    checked = 0
    for table in sessions(path, limit):
        if not reduce_actions(table).equals(reduce_actions_reference(table)):
            raise SystemExit(f"fast and reference differ on session {checked}")
        checked += 1
    return checked


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--per-session", type=int, default=100_000)
    parser.add_argument("--reference-events", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=20_241_105)
    parser.add_argument("--phase", choices=["fast", "reference"], help=argparse.SUPPRESS)
    parser.add_argument("--file", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--limit", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        print(json.dumps(run_phase(args.phase, args.file, args.limit)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "stream.parquet"
        t0 = time.perf_counter()
        mix = generate(path, args.events, args.per_session, args.seed)
        print(
            f"generated {mix['events']:,} events in {time.perf_counter() - t0:.0f} s; "
            f"mouse {mix['mouse_share']:.1%}; {json.dumps(mix['by_type'])}",
            flush=True,
        )
        results = {}
        for phase, limit in (("fast", None), ("reference", args.reference_events)):
            cmd = [sys.executable, __file__, "--phase", phase, "--file", str(path)]
            if limit is not None:
                cmd += ["--limit", str(limit)]
            out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
            results[phase] = json.loads(out)
            print(json.dumps(results[phase]), flush=True)
        same = check_identical(path, args.reference_events)
        fast, ref = results["fast"], results["reference"]
        print(f"identical output on the {same} sessions both reducers ran")
        print(
            f"fast:      {fast['events_per_cpu_s']:>12,} events/s per core "
            f"({fast['events']:,} events, {fast['actions']:,} actions), "
            f"peak RSS {fast['peak_rss_mb']} MB"
        )
        print(
            f"reference: {ref['events_per_cpu_s']:>12,} events/s per core "
            f"({ref['events']:,} events), peak RSS {ref['peak_rss_mb']} MB"
        )
        print(
            f"speed-up:  {fast['events_per_cpu_s'] / ref['events_per_cpu_s']:.1f}x "
            f"(the reference's loop alone, without building structs from the table: "
            f"{ref['loop_events_per_cpu_s']:,} events/s, "
            f"{fast['events_per_cpu_s'] / ref['loop_events_per_cpu_s']:.1f}x)"
        )
        print(
            f"memory:    before reducing {fast['rss_before_mb']} MB, peak {fast['peak_rss_mb']} "
            f"MB; one session table is {fast['largest_session_mb']} MB"
        )


if __name__ == "__main__":
    main()
