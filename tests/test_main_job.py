"""The README's main job, as a person runs it: `workprint demo` on a private virtual display."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from workprint.events import iter_jsonl
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
