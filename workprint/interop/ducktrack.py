"""Import a DuckTrack recording: ``events.jsonl`` (pynput events: ``time_stamp`` in
perf-counter seconds, ``action`` move/click/scroll/press/release) and ``metadata.json`` (screen
size, ``scroll_direction``, ``start_time``, ``stop_time``).

DuckTrack records no video start time, so the first event is anchored at ``start_time`` (it is
taken when recording starts, so times are off by at most the delay before the first event).
"""

from __future__ import annotations

from datetime import UTC, tzinfo
from pathlib import Path

from workprint.events import Event
from workprint.interop.agentnet import _first_time
from workprint.interop.pynput_jsonl import (
    anchored_clock,
    assemble,
    read_events,
    scroll_sign,
    session_id,
)
from workprint.interop.result import ImportIssue, ImportResult, read_json_object

SCOPES = ("input-timing", "text-content", "mouse")


def import_ducktrack(
    folder: str | Path, *, session: str | None = None, tz: tzinfo = UTC
) -> ImportResult:
    """One DuckTrack recording folder → workprint events (and an issue per problem)."""
    folder = Path(folder)
    issues: list[ImportIssue] = []
    sid = session or session_id("ducktrack", folder)
    metadata = read_json_object(folder / "metadata.json", issues) or {}
    metadata = {k: v for k, v in metadata.items() if k != "video_start_timestamp"}
    clock = anchored_clock(
        metadata, _first_time(folder / "events.jsonl"), "metadata.json", issues, tz
    )
    sign = scroll_sign(metadata, "metadata.json", issues)
    raw = read_events(folder / "events.jsonl", sid, clock.ns, sign, issues)
    timed: list[tuple[float, int, Event]] = [(perf, 1, e) for perf, e in raw]
    events = assemble(sid, "ducktrack", metadata, clock, timed, SCOPES, tz)
    return ImportResult(events, issues, sid, metadata)
