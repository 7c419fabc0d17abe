"""The README's main job, as a person runs it: `workprint demo` on a private virtual display."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from workprint.events import iter_jsonl
from workprint.export.writers import read_card_header
from workprint.testbed.scripted_session import TK_EXPECTED_BEFORE_PASTE, XTERM_TYPED

pytestmark = pytest.mark.x11


def test_demo_records_a_session_and_writes_its_dataset(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    result = subprocess.run(
        [sys.executable, "-m", "workprint", "demo", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    for name in ("events.jsonl", "typed_text.json", "stats.json"):
        assert str(out / name) in result.stdout.replace("\n", "")
    events = list(iter_jsonl((out / "events.jsonl").read_bytes().splitlines()))
    kinds = {type(e).__name__ for e in events}
    assert {"SessionStart", "WindowFocus", "KeyDown", "KeyUp", "MouseDown", "Scroll"} <= kinds
    assert "BadLine" not in kinds
    typed = json.loads((out / "typed_text.json").read_text())
    assert typed == {"Tk: TkPad": TK_EXPECTED_BEFORE_PASTE, "XTerm: XTermPad": XTERM_TYPED + "\n"}
    stats = json.loads((out / "stats.json").read_text())
    assert stats["written_to_spool"] == len(events)
    assert stats["raw_input_events"] >= stats["event_counts"]["KeyDown"] * 2
    spool = out / "home" / "data" / "spool.db"
    assert spool.exists() and b"TkPad" not in spool.read_bytes()
    check_datasets(out, result.stdout.replace("\n", ""))


def rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def check_datasets(out: Path, stdout: str) -> None:
    """The actions (and their pyautogui form) and writing records built from the recording."""
    datasets = out / "datasets"
    for name in ("actions", "actions-pyautogui", "writing"):
        assert (datasets / name / "train.jsonl").is_file() and (datasets / name / "README.md")
        assert str(datasets / name) in stdout
    actions = rows(datasets / "actions" / "train.jsonl")
    steps = [
        (a["kind"], a["title"], a["text"] if a["kind"] == "type" else tuple(a["keys"]))
        for a in actions
    ]
    tk, xterm = "TkPad", "XTermPad"
    assert steps == [
        ("click", tk, ()),
        ("type", tk, TK_EXPECTED_BEFORE_PASTE),  # typed with BackSpace and arrows folded in
        ("hotkey", tk, ("ctrl", "shift", "left")),
        ("hotkey", tk, ("ctrl", "c")),
        ("key", tk, ("end",)),
        ("hotkey", tk, ("ctrl", "v")),
        ("hotkey", tk, ("alt", "tab")),
        ("type", xterm, XTERM_TYPED),
        ("key", xterm, ("enter",)),
        ("double_click", tk, ()),
        ("drag", tk, ()),
        ("right_click", tk, ()),
        ("key", tk, ("esc",)),
        ("scroll", tk, ()),
        ("scroll", tk, ()),
    ]
    assert (actions[0]["x"], actions[0]["y"]) == (200, 120)
    assert [a["dy"] for a in actions if a["kind"] == "scroll"] == [-3, 2]
    code = [a["action"] for a in rows(datasets / "actions-pyautogui" / "train.jsonl")]
    assert code[:2] == [
        f"pyautogui.click(x={round(200 / 1280, 4)}, y={round(120 / 800, 4)})",
        f"pyautogui.write(message={TK_EXPECTED_BEFORE_PASTE!r})",
    ]
    writing = {r["title"]: r for r in rows(datasets / "writing" / "train.jsonl")}
    # the writing model (clipboard included) ends with exactly what the Tk window holds
    assert writing[tk]["final_text"] == (out / "tkpad.txt").read_text(encoding="utf-8")
    assert writing[tk]["final_text"].startswith(TK_EXPECTED_BEFORE_PASTE)
    assert writing[xterm]["final_text"] == XTERM_TYPED + "\n"
    for name, builder in (("actions", "workprint.actions"), ("writing", "workprint.writing")):
        meta = read_card_header(datasets / name / "README.md")["workprint"]
        assert meta["people"] == 1 and meta["builder"] == builder and meta["thresholds"]
        assert meta["privacy_transforms"] == ["none (raw; not for release: see the release gate)"]
