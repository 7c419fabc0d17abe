"""DuckTrack import on a self-made sample (tests/data/ducktrack-sample/README.md says how it was
written): events in order on the anchored clock, keys as the X11 recorder would give them, the
scripted actions after reduction, and precise issues for malformed input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from workprint.builders.actions import reduce_actions, reduce_actions_reference, table_to_actions
from workprint.events import KeyDown, KeyUp, MouseDown, SessionStart, SessionStop
from workprint.export.action_formats import to_pyautogui
from workprint.interop import import_ducktrack
from workprint.interop.pynput_jsonl import parse_wall_time

SAMPLE = Path(__file__).parent / "data" / "ducktrack-sample"


def test_import_gives_recorder_shaped_events_on_the_anchored_clock() -> None:
    result = import_ducktrack(SAMPLE)
    assert result.issues == []
    events = result.events
    assert isinstance(events[0], SessionStart) and isinstance(events[-1], SessionStop)
    assert (events[0].screen_w, events[0].screen_h) == (1920, 1080)
    start = parse_wall_time("2024-05-01 10:00:00")
    assert events[0].t == start
    assert events[1].t == start  # DuckTrack has no video start: the first event is the anchor
    press = next(e for e in events if isinstance(e, MouseDown))
    assert press.t - start == 200_000_000 and press.button == 1
    assert events[-1].t == parse_wall_time("2024-05-01 10:00:04")
    keys = [
        (type(e).__name__, e.key, e.char, e.cls, e.mods)
        for e in events
        if isinstance(e, KeyDown | KeyUp)
    ]
    assert keys[:4] == [
        ("KeyDown", "Shift_L", None, "modifier", ("shift",)),
        ("KeyDown", "H", "H", "letter", ("shift",)),
        ("KeyUp", "H", "H", "letter", ("shift",)),
        ("KeyUp", "Shift_L", None, "modifier", ("shift",)),
    ]
    assert ("KeyDown", "c", "c", "letter", ("ctrl",)) in keys
    assert ("KeyDown", "Return", "\n", "editing", ()) in keys
    assert [e.seq for e in events] == list(range(len(events)))


def test_reduces_to_the_scripted_actions() -> None:
    table = import_ducktrack(SAMPLE).table()
    actions = reduce_actions(table)
    assert actions.equals(reduce_actions_reference(table))
    got = [(a.kind, a.text or a.keys or (a.x, a.y, a.dy)) for a in table_to_actions(actions)]
    assert got == [
        ("click", (700, 500, None)),
        ("type", "Hi"),
        ("hotkey", ("ctrl", "c")),
        ("scroll", (700, 500, -2)),
        ("double_click", (800, 300, None)),
        ("key", ("enter",)),
    ]
    assert to_pyautogui(table_to_actions(actions)) == [
        f"pyautogui.click(x={round(700 / 1920, 4)}, y={round(500 / 1080, 4)})",
        "pyautogui.write(message='Hi')",
        "pyautogui.hotkey('ctrl', 'c')",
        f"pyautogui.moveTo(x={round(700 / 1920, 4)}, y={round(500 / 1080, 4)})\n"
        "pyautogui.scroll(-2)",
        f"pyautogui.doubleClick(x={round(800 / 1920, 4)}, y={round(300 / 1080, 4)})",
        "pyautogui.press('enter')",
    ]


def test_malformed_input_is_reported_precisely_and_the_rest_kept(tmp_path: Path) -> None:
    folder = tmp_path / "rec"
    shutil.copytree(SAMPLE, folder)
    lines = (folder / "events.jsonl").read_text().splitlines()
    lines[3] = json.dumps(
        {"time_stamp": 100.2, "action": "click", "x": 700, "y": 500, "button": "left"}
    )
    lines[6] = json.dumps({"time_stamp": 100.65, "action": "press", "name": "hyperdrive"})
    lines[19] = json.dumps(
        {"time_stamp": 102.0, "action": "scroll", "x": 1e12, "y": 0, "dx": 0, "dy": -1}
    )
    (folder / "events.jsonl").write_text("\n".join(lines) + "\n\n")
    meta = json.loads((folder / "metadata.json").read_text())
    meta["scroll_direction"] = 0
    meta["start_time"] = "yesterday"
    (folder / "metadata.json").write_text(json.dumps(meta))
    result = import_ducktrack(folder)
    assert [str(i) for i in result.issues] == [
        "metadata.json: start_time 'yesterday' is not a date and time",
        "metadata.json: scroll_direction must be -1 or 1, got 0; using -1",
        "events.jsonl:4: field 'pressed' must be true or false, got None",
        "events.jsonl:7: unknown key 'hyperdrive'",
        "events.jsonl:20: field 'x' is out of range (1000000000000)",
    ]
    assert len(result.events) == 29 - 3 + 2
    kinds = [a.kind for a in table_to_actions(reduce_actions(result.table()))]
    assert "double_click" in kinds and "hotkey" in kinds
