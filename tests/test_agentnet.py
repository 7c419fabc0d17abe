"""OpenCUA/AgentNet: import the real sample, reduce it, export pyautogui, and compare with the
trajectory OpenCUA derived from the same recording, step by step.

OpenCUA's annotator deleted some steps (ids 11-19 are missing in reduced_events_complete.jsonl)
and the recording ends with actions the trajectory does not keep; the test selects the steps the
annotator kept by their raw start time, which our actions carry unchanged, and checks that the
rest are exactly those deleted or trailing steps (docs/actions.md explains each difference).
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from workprint.builders.actions import (
    Thresholds,
    reduce_actions,
    reduce_actions_reference,
    table_to_actions,
)
from workprint.events import KeyDown, MouseDown, MouseMove, Scroll, SessionStart, WindowFocus
from workprint.export.action_formats import to_pyautogui
from workprint.interop import import_agentnet
from workprint.interop.pynput_jsonl import Clock, parse_wall_time

SAMPLE = Path(__file__).parent / "data" / "agentnet-sample"
CALL = re.compile(r"(pyautogui\.\w+|computer\.\w+)\(([^)]*)\)")


def calls(code: str) -> list[tuple[str, dict[str, str]]]:
    """pyautogui code → [(function, {argument: value})] for a type-and-coordinate comparison."""
    out = []
    for name, args in CALL.findall(code):
        params = dict(p.split("=", 1) for p in args.split(", ") if "=" in p)
        out.append((name, params))
    return out


def expected_steps() -> list[str]:
    traj = json.loads((SAMPLE / "pyautogui_expected.jsonl").read_text())["traj"]
    return [step["value"]["code"] for step in traj]


def kept_start_times() -> list[float]:
    lines = (SAMPLE / "reduced_events_complete.jsonl").read_text().splitlines()
    return [json.loads(line)["start_time"] for line in lines]


def sample_clock() -> Clock:
    meta = json.loads((SAMPLE / "metadata.json").read_text())
    return Clock(meta["video_start_timestamp"], parse_wall_time(meta["start_time"]))


def test_import_keeps_every_event_in_order_on_the_anchored_clock() -> None:
    result = import_agentnet(SAMPLE)
    assert result.issues == []
    events = result.events
    raw = [json.loads(line) for line in (SAMPLE / "events.jsonl").read_text().splitlines()]
    assert len(events) == len(raw) + 4 + 2  # + top-window changes, session start and stop
    start = events[0]
    assert isinstance(start, SessionStart)
    assert (start.screen_w, start.screen_h) == (1366, 768)
    assert [e.seq for e in events] == list(range(len(events)))
    assert [e.t for e in events] == sorted(e.t for e in events)
    clock = sample_clock()
    moves = [e for e in events if isinstance(e, MouseMove)]
    assert moves[0].t == clock.ns(raw[0]["time_stamp"])
    assert (moves[0].x, moves[0].y) == (raw[0]["x"], raw[0]["y"])
    # 2024-11-05 18:56:31 (read as UTC) is when the video started, 6.22 s before the first move
    assert moves[0].t - start.t == pytest.approx(6.2243400e9, abs=1e3)
    assert [e.app for e in events if isinstance(e, WindowFocus)] == [
        "agentnet-annotator",
        "explorer",
        "ShellExperienceHost",
        "ApplicationFrameHost",
    ]
    keys = [(e.key, e.mods) for e in events if isinstance(e, KeyDown)]
    assert keys == [
        ("Control_L", ("ctrl",)),
        ("Alt_L", ("ctrl", "alt")),
        ("t", ("ctrl", "alt")),
    ]
    scrolls = [e for e in events if isinstance(e, Scroll)]
    assert [e.dy for e in scrolls[:3]] == [-1, -1, -1]  # scroll_direction -1: pynput's sign
    assert result.task is not None and result.task.startswith("Open the system display")


def test_fast_and_reference_reducers_agree_on_the_sample() -> None:
    table = import_agentnet(SAMPLE).table()
    for th in (Thresholds(), Thresholds(scroll_gap_s=3.0), Thresholds(drag_px=100.0)):
        assert reduce_actions(table, th).equals(reduce_actions_reference(table, th))


def test_pyautogui_export_reproduces_opencuas_trajectory_step_by_step() -> None:
    actions = table_to_actions(reduce_actions(import_agentnet(SAMPLE).table()))
    clock = sample_clock()
    kept_ns = [clock.ns(t) for t in kept_start_times()]
    by_start = {a.t_start: a for a in actions}
    kept = [by_start[t] for t in kept_ns]  # every step the annotator kept is one of ours
    ours = to_pyautogui(kept, terminate="success")
    expected = expected_steps()
    assert len(ours) == len(expected) == 15
    for step, (mine, theirs) in enumerate(zip(ours, expected, strict=True)):
        a, b = calls(mine), calls(theirs)
        assert [name for name, _ in a] == [name for name, _ in b], step
        for (_, pa_), (_, pb) in zip(a, b, strict=True):
            assert pa_.keys() == pb.keys(), step
            for key in pa_:
                if key in ("x", "y"):
                    assert abs(float(pa_[key]) - float(pb[key])) <= 0.005, (step, key)
                else:
                    assert pa_[key] == pb[key], (step, key)
    assert ours == expected  # in fact identical, character for character


def test_the_other_actions_are_the_annotators_deleted_steps_and_the_stop_hotkey() -> None:
    result = import_agentnet(SAMPLE)
    clock = sample_clock()
    starts = kept_start_times()
    deleted_from, deleted_to = clock.ns(starts[10]), clock.ns(starts[11])  # ids 10 and 20
    last_kept = clock.ns(starts[-1])
    for th, deleted in ((Thresholds(), 10), (Thresholds(scroll_gap_s=3.0), 9)):
        actions = table_to_actions(reduce_actions(result.table(), th))
        kept = set(clock.ns(t) for t in starts)
        extra = [a for a in actions if a.t_start not in kept]
        inside = [a for a in extra if deleted_from < a.t_start < deleted_to]
        after = [a for a in extra if a.t_start > last_kept]
        assert len(extra) == len(inside) + len(after)
        # ids 11-19: 9 steps in OpenCUA; we split one scroll paused 2 s unless scroll_gap_s > 2
        assert len(inside) == deleted
        assert [a.kind for a in after] == ["scroll", "scroll", "hotkey"]
        assert [(a.dy, a.keys) for a in after] == [(-6, ()), (4, ()), (None, ("ctrl", "alt", "t"))]


def test_each_action_keeps_raw_times_ranges_and_context() -> None:
    result = import_agentnet(SAMPLE)
    actions = table_to_actions(reduce_actions(result.table()))
    events = {e.seq: e for e in result.events}
    first = actions[0]
    press = next(e for e in result.events if isinstance(e, MouseDown))
    assert first.t_start == press.t and first.kind == "click"
    assert first.seq_first == 1  # its range starts right after the session start
    assert len(first.path_x) == 70  # the approach: every move before the press
    assert (first.path_x[-1], first.path_y[-1]) == (1328, 745)
    assert (first.app, first.screen_w, first.screen_h) == ("explorer", 1366, 768)
    drag = next(a for a in actions if a.kind == "drag")
    assert (drag.x, drag.y, drag.x2, drag.y2) == (621, 206, 561, 213)
    assert events[drag.seq_last].t == drag.t_end
    assert {a.app for a in actions[3:]} == {"ApplicationFrameHost"}


def corrupt(tmp_path: Path) -> Path:
    folder = tmp_path / "rec"
    shutil.copytree(SAMPLE, folder)
    lines = (folder / "events.jsonl").read_text().splitlines()
    lines[4] = "{not json"
    lines[9] = json.dumps({"time_stamp": 30680.0, "action": "move", "x": 5})
    lines[70] = json.dumps(
        {
            "time_stamp": 30680.6,
            "action": "click",
            "x": 1,
            "y": 2,
            "button": "thumb",
            "pressed": True,
        }
    )
    lines[100] = json.dumps({"time_stamp": "soon", "action": "move", "x": 1, "y": 2})
    lines[200] = json.dumps({"time_stamp": 30690.0, "action": "teleport"})
    lines[300] = "[1, 2]"
    (folder / "events.jsonl").write_text("\n".join(lines) + "\n")
    window = (folder / "top_window.jsonl").read_text().splitlines()
    window[1] = json.dumps({"time_stamp": 30675.3})
    (folder / "top_window.jsonl").write_text("\n".join(window) + "\n")
    return folder


def test_malformed_lines_are_named_precisely_and_the_rest_is_imported(tmp_path: Path) -> None:
    result = import_agentnet(corrupt(tmp_path))
    problems = [str(i) for i in result.issues]
    assert problems[0].startswith("events.jsonl:5: not JSON")
    assert problems[1:] == [
        "events.jsonl:10: field 'y' must be a finite number, got None",
        "events.jsonl:71: unknown button 'thumb'",
        "events.jsonl:101: field 'time_stamp' must be a finite number, got 'soon'",
        "events.jsonl:201: unknown action 'teleport' (expected move, click, scroll, press, "
        "release)",
        "events.jsonl:301: not a JSON object",
        "top_window.jsonl:2: field 'top_window_name' must be a name, got None",
    ]
    inputs = [e for e in result.events if not isinstance(e, SessionStart | WindowFocus)]
    assert len(inputs) == 4099 - 6 + 1  # + session stop
    assert len([e for e in result.events if isinstance(e, WindowFocus)]) == 3
    # what is left still reduces (the click whose press was lost is now a lone release)
    assert reduce_actions(result.table()).num_rows > 20


def test_missing_metadata_and_inverted_scrolling(tmp_path: Path) -> None:
    folder = tmp_path / "rec"
    shutil.copytree(SAMPLE, folder)
    meta = json.loads((folder / "metadata.json").read_text())
    meta["scroll_direction"] = 1
    (folder / "metadata.json").write_text(json.dumps(meta))
    inverted = import_agentnet(folder)
    assert inverted.issues == []
    assert [e.dy for e in inverted.events if isinstance(e, Scroll)][:3] == [1, 1, 1]
    (folder / "metadata.json").unlink()
    bare = import_agentnet(folder)
    assert [str(i) for i in bare.issues] == [
        "metadata.json: missing",
        "metadata.json: no start_time: times are not anchored",
    ]
    start = bare.events[0]
    assert isinstance(start, SessionStart) and start.screen_w == 0
    assert len(bare.events) == len(inverted.events)


def test_approach_paths_are_opencuas_pre_moves() -> None:
    """OpenCUA keeps the moves before each step as its ``pre_move``; our actions hold the same
    moves (those before ``t_start``) in their path, point for point."""
    actions = table_to_actions(reduce_actions(import_agentnet(SAMPLE).table()))
    clock = sample_clock()
    by_start = {a.t_start: a for a in actions}
    lines = (SAMPLE / "reduced_events_complete.jsonl").read_text().splitlines()
    for step in map(json.loads, lines):
        ours = by_start[clock.ns(step["start_time"])]
        approach = [
            [x, y]
            for x, y, t in zip(ours.path_x, ours.path_y, ours.path_t, strict=True)
            if t < ours.t_start
        ]
        assert approach == step["pre_move"]["trace"], step["id"]
        if step["action"] == "drag":
            dragged = [
                [x, y]
                for x, y, t in zip(ours.path_x, ours.path_y, ours.path_t, strict=True)
                if t > ours.t_start
            ]
            assert dragged == step["drag_trace"]
