"""Split a person's event stream into work sessions and task episodes.

Cuts, vectorised over the whole table: every boundary row (session start/stop, pause, resume,
gap, consent change, a new session id) — so no episode ever spans a span where capture was
paused or excluded — then idle gaps between input events, then (if asked) switches of the
focused application. Episodes without any input event are dropped.
"""

from __future__ import annotations

from typing import Annotated, Any, Final

import msgspec
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from workprint.builders.actions.columns import (
    BOUNDARY,
    FOCUS,
    KEY_UP,
    START,
    Columns,
    IntArray,
)

EPISODE_SCHEMA: Final = pa.schema(
    [
        pa.field("episode", pa.string(), nullable=False),
        pa.field("work_session", pa.string(), nullable=False),
        pa.field("session", pa.string(), nullable=False),
        pa.field("t_start", pa.int64(), nullable=False),
        pa.field("t_end", pa.int64(), nullable=False),
        pa.field("seq_first", pa.int64(), nullable=False),
        pa.field("seq_last", pa.int64(), nullable=False),
        pa.field("n_events", pa.int64(), nullable=False),
        pa.field("n_input_events", pa.int64(), nullable=False),
        pa.field("starts_after", pa.string(), nullable=False),
    ]
)
Seconds = Annotated[float, msgspec.Meta(gt=0, le=30 * 86_400)]


class EpisodeConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    session_idle_s: Seconds = 1800.0
    """No input for this long ends a work session (and its episode)."""
    episode_idle_s: Seconds = 120.0
    """No input for this long ends a task episode."""
    split_on_app_switch: bool = False
    """Start a new episode when the focused application changes. Off by default: one task
    often spans applications (the AgentNet sample's one task uses four)."""

    def as_dict(self) -> dict[str, Any]:
        return {f: getattr(self, f) for f in self.__struct_fields__}


def split_episodes(table: pa.Table, config: EpisodeConfig | None = None) -> pa.Table:
    """Events (``EVENT_SCHEMA``, in recording order) → one row per episode (``EPISODE_SCHEMA``)."""
    cfg = config or EpisodeConfig()
    cols = Columns.from_table(table)
    n = cols.n
    if n == 0:
        return EPISODE_SCHEMA.empty_table()
    code = cols.code
    hard = (code == BOUNDARY) | (code == START)
    after_hard = np.zeros(n, bool)
    after_hard[1:] = hard[:-1]
    session_cut = cols.session_change | after_hard
    session_cut[0] = True
    episode_cut = session_cut.copy()
    reason = np.full(n, "", object)  # why an episode starts at a row; strongest reason last
    if cfg.split_on_app_switch:
        switches = _app_switches(cols, hard)
        episode_cut[switches] = True
        reason[switches] = "app_switch"
    inputs = np.flatnonzero(code <= KEY_UP)
    if len(inputs) > 1:
        prev, cur = inputs[:-1], inputs[1:]
        gap = cols.t[cur] - cols.t[prev]
        segment = np.cumsum(hard | cols.session_change)
        same = segment[prev] == segment[cur]
        idle = prev[same & (gap >= round(cfg.episode_idle_s * 1e9))] + 1
        episode_cut[idle] = True
        reason[idle] = "idle"
        long_idle = prev[same & (gap >= round(cfg.session_idle_s * 1e9))] + 1
        session_cut[long_idle] = episode_cut[long_idle] = True
        reason[long_idle] = "session_idle"
    types = table.column("type").cast(pa.string())
    hard_rows = np.flatnonzero(after_hard)
    reason[hard_rows] = types.take(pa.array(hard_rows - 1)).to_pylist()
    reason[cols.session_change] = "session_change"
    reason[0] = "start"
    work_id = np.cumsum(session_cut)
    episode_id = np.cumsum(episode_cut)
    keep = ~hard
    rows = np.flatnonzero(keep)
    if len(rows) == 0:
        return EPISODE_SCHEMA.empty_table()
    labels = episode_id[rows]
    starts = np.flatnonzero(np.r_[True, labels[1:] != labels[:-1]])
    first = rows[starts]
    last = rows[np.r_[starts[1:], len(rows)] - 1]
    is_input = (code <= KEY_UP).astype(np.int64)
    n_input = np.add.reduceat(is_input[rows], starts)
    ok = n_input > 0
    first, last, n_input = first[ok], last[ok], n_input[ok]
    n_events = np.add.reduceat(np.ones(len(rows), np.int64), starts)[ok]
    session = table.column("session").cast(pa.string()).take(pa.array(first)).to_pylist()
    return pa.table(
        {
            "episode": [
                f"{s}:e{k}" for s, k in zip(session, episode_id[first].tolist(), strict=True)
            ],
            "work_session": [
                f"{s}:w{k}" for s, k in zip(session, work_id[first].tolist(), strict=True)
            ],
            "session": session,
            "t_start": cols.t[first],
            "t_end": cols.t[last],
            "seq_first": cols.seq[first],
            "seq_last": cols.seq[last],
            "n_events": n_events,
            "n_input_events": n_input,
            "starts_after": reason[first].tolist(),
        },
        schema=EPISODE_SCHEMA,
    )


def _app_switches(cols: Columns, hard: Any) -> IntArray:
    """Focus rows whose application differs from the previous focus in the same segment."""
    focus = np.flatnonzero(cols.code == FOCUS)
    if len(focus) < 2:
        return focus[:0]
    apps = cols.table.column("app").take(pa.array(focus))
    changed = pc.not_equal(apps[1:], apps[:-1]).to_numpy(zero_copy_only=False)
    segment = np.cumsum(hard | cols.session_change)[focus]
    rows: IntArray = focus[1:][changed & (segment[1:] == segment[:-1])]
    return rows


def label_actions(actions: pa.Table, episodes: pa.Table) -> pa.Table:
    """Add an ``episode`` column: the episode of the same session whose time span holds the
    action's start (null if none does)."""
    by_session: dict[str, tuple[Any, Any, list[str]]] = {}
    for session, group in _groups(episodes):
        by_session[session] = (
            np.asarray(group["t_start"]),
            np.asarray(group["t_end"]),
            list(group["episode"]),
        )
    sessions = actions.column("session").to_pylist()
    starts = actions.column("t_start").to_numpy()
    out: list[str | None] = []
    for session, t in zip(sessions, starts.tolist(), strict=True):
        found = by_session.get(session)
        label = None
        if found is not None:
            t0, t1, names = found
            i = int(np.searchsorted(t0, t, "right")) - 1
            if i >= 0 and t <= t1[i]:
                label = names[i]
        out.append(label)
    return actions.append_column(pa.field("episode", pa.string()), pa.array(out, pa.string()))


def _groups(episodes: pa.Table) -> list[tuple[str, dict[str, list[Any]]]]:
    groups: dict[str, dict[str, list[Any]]] = {}
    for row in episodes.select(["session", "t_start", "t_end", "episode"]).to_pylist():
        g = groups.setdefault(row["session"], {"t_start": [], "t_end": [], "episode": []})
        for k in ("t_start", "t_end", "episode"):
            g[k].append(row[k])
    return list(groups.items())
