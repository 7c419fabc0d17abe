"""A person's data, summarised per day for the timeline: active time, events per consent scope,
applications and sites. Computed from the person's own events (the read is audited by the store)
in Arrow, never one Python object per event.

Active time is the sum of gaps between consecutive events that are shorter than
``IDLE_GAP_S``: a longer silence counts as away.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final
from urllib.parse import urlsplit

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

NS_PER_DAY: Final = 86_400 * 10**9
IDLE_GAP_S: Final = 60.0
TOP_N: Final = 5
SCOPE_OF_TYPE: Final = {
    "key_down": "input-timing",
    "key_up": "input-timing",
    "mouse_move": "mouse",
    "mouse_down": "mouse",
    "mouse_up": "mouse",
    "scroll": "mouse",
    "window_focus": "app-usage",
    "editor_edit": "text-content",
}


@dataclass
class Day:
    day: str
    events: int = 0
    active_s: float = 0.0
    per_scope: Counter[str] = field(default_factory=Counter)
    apps: Counter[str] = field(default_factory=Counter)
    sites: Counter[str] = field(default_factory=Counter)
    _last_t: int | None = None

    def top_apps(self) -> list[tuple[str, int]]:
        return self.apps.most_common(TOP_N)

    def top_sites(self) -> list[tuple[str, int]]:
        return self.sites.most_common(TOP_N)


def day_name(t_ns: int) -> str:
    return dt.datetime.fromtimestamp(t_ns // NS_PER_DAY * 86_400, tz=dt.UTC).strftime("%Y-%m-%d")


def day_bounds(day: str) -> tuple[int, int]:
    """[start, end) in ns of a YYYY-MM-DD day (UTC); ValueError for anything else."""
    moment = dt.datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=dt.UTC)
    start = int(moment.timestamp()) * 10**9
    return start, start + NS_PER_DAY


def summarise(tables: Iterable[pa.Table]) -> list[Day]:
    """Per-day summaries, newest day first. Tables arrive in (t, seq) order."""
    days: dict[str, Day] = {}
    for table in tables:
        if table.num_rows == 0:
            continue
        t = table.column("t").to_numpy()
        day_index = t // NS_PER_DAY
        types = pc.cast(table.column("type"), pa.string()).to_numpy(zero_copy_only=False)
        chars = table.column("char").is_valid().to_numpy(zero_copy_only=False)
        titles = table.column("title").is_valid().to_numpy(zero_copy_only=False)
        apps = table.column("app").to_pylist()
        urls = table.column("url").to_pylist() if "url" in table.column_names else None
        for value in np.unique(day_index):
            rows = np.nonzero(day_index == value)[0]
            name = day_name(int(value) * NS_PER_DAY)
            summary = days.setdefault(name, Day(name))
            _add(summary, t[rows], types[rows], chars[rows], titles[rows], apps, urls, rows)
    return sorted(days.values(), key=lambda d: d.day, reverse=True)


def _add(
    summary: Day,
    t: np.ndarray,
    types: np.ndarray,
    chars: np.ndarray,
    titles: np.ndarray,
    apps: list[str | None],
    urls: list[str | None] | None,
    rows: np.ndarray,
) -> None:
    summary.events += len(rows)
    stamps = t if summary._last_t is None else np.concatenate(([summary._last_t], t))
    gaps = np.diff(stamps) / 1e9
    summary.active_s += float(gaps[(gaps >= 0) & (gaps <= IDLE_GAP_S)].sum())
    summary._last_t = int(t[-1])
    kinds, counts = np.unique(types, return_counts=True)
    for kind, count in zip(kinds, counts, strict=True):
        scope = SCOPE_OF_TYPE.get(str(kind))
        if scope is None and str(kind).startswith(("browser", "page", "search")):
            scope = "browsing"
        if scope is not None:
            summary.per_scope[scope] += int(count)
    summary.per_scope["text-content"] += int(np.count_nonzero(chars))
    summary.per_scope["window-titles"] += int(np.count_nonzero(titles))
    for row in rows[types == "window_focus"]:
        app = apps[row]
        if app:
            summary.apps[app] += 1
    for row in rows if urls is not None else ():
        url = urls[row] if urls is not None else None
        host = urlsplit(str(url)).hostname if url else None
        if host:
            summary.sites[host] += 1
    for scope in [s for s, n in summary.per_scope.items() if n == 0]:
        del summary.per_scope[scope]
