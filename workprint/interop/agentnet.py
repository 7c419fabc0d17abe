"""Import an OpenCUA/AgentNet recording: ``events.jsonl`` (pynput events, perf-counter seconds),
``metadata.json`` (screen size, ``scroll_direction``, ``start_time``/``stop_time`` and the
perf time the video started at), ``top_window.jsonl`` (the foreground process over time) and,
if present, ``task_name.json`` (the instruction).

Times are anchored so that ``video_start_timestamp`` falls at ``start_time``; that wall time has
no time zone in the file and is read in ``tz`` (UTC unless told otherwise).
"""

from __future__ import annotations

from datetime import UTC, tzinfo
from pathlib import Path

from workprint.events import Event, WindowFocus
from workprint.interop.pynput_jsonl import (
    anchored_clock,
    assemble,
    read_events,
    scroll_sign,
    session_id,
)
from workprint.interop.result import ImportIssue, ImportResult, read_json_object, read_jsonl

SCOPES = ("input-timing", "text-content", "mouse", "app-usage")


def import_agentnet(
    folder: str | Path, *, session: str | None = None, tz: tzinfo = UTC
) -> ImportResult:
    """One AgentNet recording folder → workprint events (and an issue per problem)."""
    folder = Path(folder)
    issues: list[ImportIssue] = []
    sid = session or session_id("agentnet", folder)
    metadata = read_json_object(folder / "metadata.json", issues) or {}
    first_perf = _first_time(folder / "events.jsonl")
    clock = anchored_clock(metadata, first_perf, "metadata.json", issues, tz)
    sign = scroll_sign(metadata, "metadata.json", issues)
    raw = read_events(folder / "events.jsonl", sid, clock.ns, sign, issues)
    timed: list[tuple[float, int, Event]] = [(perf, 1, e) for perf, e in raw]
    window_file = folder / "top_window.jsonl"
    if window_file.exists():
        for number, obj in read_jsonl(window_file, issues):
            perf, name = obj.get("time_stamp"), obj.get("top_window_name")
            if isinstance(perf, bool) or not isinstance(perf, int | float):
                problem = f"field 'time_stamp' must be a number, got {perf!r}"
            elif not isinstance(name, str) or not name:
                problem = f"field 'top_window_name' must be a name, got {name!r}"
            elif clock.ns(perf) < 0:
                problem = f"time_stamp {perf} is before 1970 once anchored"
            else:
                focus = WindowFocus(t=clock.ns(perf), session=sid, app=name)
                timed.append((float(perf), 0, focus))
                continue
            issues.append(ImportIssue(window_file.name, number, problem))
    events = assemble(sid, "agentnet", metadata, clock, timed, SCOPES, tz)
    task = None
    task_file = folder / "task_name.json"
    if task_file.exists():
        task_obj = read_json_object(task_file, issues) or {}
        name = task_obj.get("task_name")
        task = name if isinstance(name, str) else None
    return ImportResult(events, issues, sid, metadata, task)


def _first_time(path: Path) -> float | None:
    """The first event's perf time (the anchor when the video start time is missing)."""
    ignored: list[ImportIssue] = []
    for _, obj in read_jsonl(path, ignored):
        value = obj.get("time_stamp")
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    return None
