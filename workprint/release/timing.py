"""Timings in a release: never the raw ones (design principle 6).

With ``fields.timing = "anonymise"`` the actions' mouse approach paths go through
``workprint.privacy.timing.anonymize_mouse_paths`` and the writing edits' key times through
``anonymize_keystrokes`` (bursts, pauses and revisions are re-timed from the anonymised edits);
with ``"drop"`` those timing columns are emptied. Either way every remaining timestamp becomes
relative to the session's first one and is rounded to ``QUANTUM_NS``: wall-clock time of day is a
quasi-identifier, and a rounded action time no longer carries a key's hold time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

import pyarrow as pa

from workprint.errors import WorkprintError
from workprint.release.policy import TimingPolicy

QUANTUM_NS: Final = 100_000_000  # 100 ms
TOP_TIMES: Final = ("t_start", "t_end")
Anonymiser = Callable[..., pa.Table]


class TimingUnavailable(WorkprintError):
    """The timing anonymiser cannot be loaded; the release must drop timings instead."""


@dataclass
class ReleasedTimings:
    """The release's batches with their timings done, and what the re-identification figures
    need: the key table as recorded (relative ms) and as anonymised, row for row."""

    batches: list[pa.Table]
    raw_keys: pa.Table | None = None
    anonymised_keys: pa.Table | None = None
    mouse_paths: int = 0  # approach paths re-synthesised


def anonymiser(name: str) -> Anonymiser:
    """``anonymize_keystrokes`` or ``anonymize_mouse_paths`` from ``workprint.privacy.timing``."""
    try:
        from workprint.privacy import timing

        found: Anonymiser = getattr(timing, name)
    except (ImportError, AttributeError) as exc:
        raise TimingUnavailable(
            f"the timing anonymiser workprint.privacy.timing.{name} cannot be loaded ({exc}); "
            'set fields.timing = "drop" in the release policy'
        ) from None
    return found


def _quantise(value: int | None, base: int) -> int | None:
    return None if value is None else round((value - base) / QUANTUM_NS) * QUANTUM_NS


def _mouse_paths(rows: list[dict[str, Any]], seed: int | None) -> int:
    """Approach paths re-synthesised between their kept endpoints; returns how many."""
    anonymize_mouse_paths = anonymiser("anonymize_mouse_paths")
    path, ts, xs, ys = [], [], [], []
    for i, row in enumerate(rows):
        if len(row.get("path_t") or ()) >= 2:
            path += [i] * len(row["path_t"])
            ts += list(row["path_t"])
            xs += list(row["path_x"])
            ys += list(row["path_y"])
    if not path:
        return 0
    source = pa.table(
        {
            "path": pa.array(path, pa.int64()),
            "t": pa.array(ts, pa.int64()),
            "x": pa.array(xs, pa.float64()),
            "y": pa.array(ys, pa.float64()),
        }
    )
    out = anonymize_mouse_paths(source, seed=seed).to_pydict()
    fresh: dict[int, list[tuple[int, int, int]]] = {}
    for p, t, x, y in zip(out["path"], out["t"], out["x"], out["y"], strict=True):
        fresh.setdefault(int(p), []).append((int(t), round(x), round(y)))
    for i, points in fresh.items():
        points.sort()
        rows[i]["path_t"] = [t for t, _, _ in points]
        rows[i]["path_x"] = [x for _, x, _ in points]
        rows[i]["path_y"] = [y for _, _, y in points]
    return len(fresh)


def _edit_times(
    rows: list[dict[str, Any]], people: list[str], seed: int | None
) -> tuple[pa.Table, pa.Table] | None:
    """Edits re-timed by the keystroke anonymiser; bursts, pauses, revisions follow them.
    Returns the key table before and after (one time per edit: press = release)."""
    anonymize_keystrokes = anonymiser("anonymize_keystrokes")
    users, sessions, keys, press = [], [], [], []
    for row, person in zip(rows, people, strict=True):
        for edit in row["edits"]:
            users.append(person)
            sessions.append(row["doc"])
            keys.append(edit["inserted"][:1] or "BackSpace")
            press.append(edit["t"] / 1e6)
    if not press:
        return None
    table = pa.table(
        {
            "user": pa.array(users, pa.string()),
            "session": pa.array(sessions, pa.string()),
            "keyname": pa.array(keys, pa.string()),
            "timepress": pa.array(press, pa.float64()),
            "timerelease": pa.array(press, pa.float64()),
        }
    )
    anonymised = anonymize_keystrokes(table, seed=seed)
    new = iter(anonymised.column("timepress").to_pylist())
    for row in rows:
        by_seq: dict[int, int] = {}
        times: list[int] = []
        for edit in row["edits"]:
            edit["t"] = round(next(new) * 1e6)
            by_seq[edit["seq"]] = edit["t"]
            times.append(edit["t"])
        for burst in row["bursts"]:
            burst["t_start"] = by_seq.get(burst["first_seq"])
            burst["t_end"] = by_seq.get(burst["last_seq"])
        pauses = []
        for pause in row["pauses"]:
            at = by_seq.get(pause["seq"])
            earlier = [t for t in times if at is not None and t < at]
            if at is not None and earlier:
                pauses.append({**pause, "t": at, "duration": at - max(earlier)})
        row["pauses"] = pauses
        for rev in row["revisions"]:
            first, last = rev["first_edit"], rev["first_edit"] + rev["n_edits"] - 1
            rev["t_start"] = times[first] if first < len(times) else None
            rev["t_end"] = times[last] if last < len(times) else None
    return table, anonymised


def _drop(rows: list[dict[str, Any]]) -> None:
    for row in rows:
        if "path_t" in row:
            row["path_t"], row["path_x"], row["path_y"] = [], [], []
        for edit in row.get("edits") or ():
            edit["t"] = None
        for item in [*(row.get("bursts") or ()), *(row.get("revisions") or ())]:
            item["t_start"] = item["t_end"] = None
        if "pauses" in row:
            row["pauses"] = []


def release_timings(
    batches: list[tuple[pa.Table, str]], policy: TimingPolicy, seed: int | None = None
) -> ReleasedTimings:
    """Every (session batch, person pseudonym) of a release with its timings anonymised (one
    anonymiser call for the whole release: it pools people) or dropped, then made relative to
    the session's first timestamp and quantised; with the key tables before and after for the
    re-identification figures. Raises the anonymiser's error, if any."""
    tables = [table for table, _ in batches]
    per_batch = [table.to_pylist() for table in tables]
    bases: list[int] = []
    for rows in per_batch:  # relative before anonymising: the anonymiser sees no wall clock
        base = min((r[c] for r in rows for c in TOP_TIMES if r.get(c) is not None), default=0)
        bases.append(base)
        for row in rows:
            for edit in row.get("edits") or ():
                edit["t"] -= base
            if row.get("path_t"):
                row["path_t"] = [t - base for t in row["path_t"]]
    flat = [row for rows in per_batch for row in rows]
    people = [person for (table, person) in batches for _ in range(table.num_rows)]
    columns = set(tables[0].column_names) if tables else set()
    done = ReleasedTimings([])
    if policy == "drop":
        _drop(flat)
    elif "path_t" in columns:
        done.mouse_paths = _mouse_paths(flat, seed)
    elif "edits" in columns:
        keys = _edit_times(flat, people, seed)
        if keys is not None:
            done.raw_keys, done.anonymised_keys = keys
    for table, rows, base in zip(tables, per_batch, bases, strict=True):
        for row in rows:
            for column in TOP_TIMES:
                if column in row:
                    row[column] = _quantise(row[column], base)
        done.batches.append(pa.Table.from_pylist(rows, schema=table.schema))
    return done
