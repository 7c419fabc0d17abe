"""`workprint import` → `workprint build` → `workprint export`, through the real entry point in
subprocesses, on a real embedded store in a temporary directory, with the real sample files."""

from __future__ import annotations

import gzip
import json
import re
import shutil
import subprocess
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.store_support import all_bytes
from tests.test_admin_cli import Cli, one_line_error
from tests.test_agentnet import (
    SAMPLE,
    calls,
    corrupt,
    expected_steps,
    kept_start_times,
    sample_clock,
)
from tests.test_idfx import normalise_line_endings
from workprint.builders.writing import build_writing, table_to_records
from workprint.events import KeyDown, KeyUp, MouseDown, MouseMove, MouseUp, Scroll
from workprint.export.writers import read_card_header
from workprint.interop import ImportResult, import_agentnet
from workprint.interop.idfx import parse_idfx

IDFX = Path(__file__).parent / "data" / "idfx"
CSV = Path(__file__).parent / "data" / "keystroke-timing" / "fixed_text_slice.csv"
NAME = "Zelda Quuxington"
AGENTNET_SCOPES = "input-timing,text-content,mouse,app-usage"


class Steward(Cli):
    """The CLI pointed at one store, with one person (a subject named ``NAME``) in it."""

    def __init__(self, tmp_path: Path) -> None:
        super().__init__(tmp_path)
        added = self.store("admin", "add-person", NAME, "--role", "subject")
        assert added.returncode == 0, added.stderr
        found = re.search(r"person (p_[0-9a-f]+)", added.stdout)
        assert found, added.stdout
        self.person = found.group(1)

    def on_store(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self(*args, "--store", str(self.data), "--master-key", str(self.key))

    def import_(
        self, fmt: str, *paths: Path, scopes: str = "all", person: str = ""
    ) -> subprocess.CompletedProcess[str]:
        return self.on_store(
            "import", fmt, *map(str, paths), "--person", person or self.person, "--scopes", scopes
        )


@pytest.fixture
def steward(tmp_path: Path) -> Steward:
    return Steward(tmp_path)


def jsonl(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_agentnet_import_build_export_reproduces_opencuas_trajectory(
    steward: Steward, tmp_path: Path
) -> None:
    imported = steward.import_("agentnet", SAMPLE, scopes=AGENTNET_SCOPES)
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout.startswith("imported 4105 events (0 already stored)"), imported.stdout
    again = steward.import_("agentnet", SAMPLE, scopes=AGENTNET_SCOPES)
    assert again.returncode == 0 and "imported 0 events (4105 already stored)" in again.stdout

    built = steward.on_store("build", "actions", "--out", str(tmp_path / "actions"))
    assert built.returncode == 0, built.stderr
    assert "built 27 actions rows from 1 people, 1 sessions" in built.stdout
    shards = sorted((tmp_path / "actions" / "data").glob("train-*.parquet"))
    assert len(shards) == 1 and pq.read_table(shards[0]).num_rows == 27

    out = tmp_path / "pyautogui"
    exported = steward(
        "export", "pyautogui", "--actions", str(tmp_path / "actions"), "--out", str(out),
        "--format", "jsonl",
    )  # fmt: skip
    assert exported.returncode == 0, exported.stderr
    rows = jsonl(out / "train.jsonl")
    assert len(rows) == 27
    # select the steps OpenCUA's annotator kept by their raw start time, as test_agentnet does
    clock = sample_clock()
    by_start = {row["t_start"]: row for row in rows}
    kept = [by_start[clock.ns(t)] for t in kept_start_times()]
    ours = [str(row["action"]) for row in kept] + ["computer.terminate(status='success')"]
    expected = expected_steps()
    assert len(ours) == len(expected) == 15
    for step, (mine, theirs) in enumerate(zip(ours, expected, strict=True)):
        a, b = calls(mine), calls(theirs)
        assert [name for name, _ in a] == [name for name, _ in b], step
    assert ours == expected  # identical, character for character, after the store round trip
    meta = read_card_header(out / "README.md")["workprint"]
    assert meta["action_format"] == "pyautogui" and meta["people"] == 1
    assert meta["builder"] == "workprint.actions" and meta["thresholds"]["drag_px"] == 8.0


@pytest.fixture(scope="module")
def idfx_build(tmp_path_factory: pytest.TempPathFactory) -> tuple[Steward, list[dict[str, object]]]:
    """The 8 IDFX sessions imported (gzip) and built into writing records, once."""
    steward = Steward(tmp_path_factory.mktemp("idfx"))
    files = sorted(IDFX.glob("*_il_1.idfx.gz"))
    assert len(files) == 8
    imported = steward.import_("idfx", *files, scopes="input-timing,text-content,app-usage")
    # M's log starts with stray bytes: reported, the rest imported (exit 1, not 2)
    assert imported.returncode == 1, imported.stderr
    assert f"{IDFX / 'M_il_1.idfx.gz'}:1: <prolog>: 6 characters before" in imported.stderr
    out = steward.tmp / "writing"
    built = steward.on_store("build", "writing", "--out", str(out), "--format", "jsonl")
    assert built.returncode == 0, built.stderr
    return steward, jsonl(out / "train.jsonl")


def library_records(name: str) -> tuple[dict[str, object], str]:
    """The writing record the library builds from the same file (keystrokes and editor log),
    and the text the writer's editor held at the end."""
    data = gzip.decompress((IDFX / f"{name}_il_1.idfx.gz").read_bytes())
    result = parse_idfx(data, f"{name}_il_1.idfx", f"{name}_il_1")
    [record] = table_to_records(build_writing(result.table(), editor=result.editor_table()))
    expected = (IDFX / "txt" / f"{name}_ft_1.txt").read_text(encoding="utf-8")
    return {"t_start": record.t_start, "final_text": record.final_text,
            "n_keystrokes": record.n_keystrokes, "edits": len(record.edits)}, expected  # fmt: skip


@pytest.mark.parametrize("name", ["A", "C", "J", "K", "M", "N", "P", "R"])
def test_idfx_through_the_store_equals_every_final_text(
    idfx_build: tuple[Steward, list[dict[str, object]]], name: str
) -> None:
    """import → store (the editor log stored as editor_edit events) → build writing: the
    writer's final text, exactly as the library builds it from the file itself."""
    _, records = idfx_build
    mine, expected = library_records(name)
    [record] = [r for r in records if r["t_start"] == mine["t_start"]]
    assert normalise_line_endings(str(record["final_text"])) == normalise_line_endings(expected)
    assert record["final_text"] == mine["final_text"]
    assert record["n_keystrokes"] == mine["n_keystrokes"]
    assert len(record["edits"]) == mine["edits"]  # type: ignore[arg-type]


def test_idfx_reimport_stores_nothing_twice(
    idfx_build: tuple[Steward, list[dict[str, object]]],
) -> None:
    steward, _ = idfx_build
    again = steward.import_("idfx", IDFX / "J_il_1.idfx.gz", scopes="all")
    assert again.returncode == 0, again.stderr
    assert "imported 0 events (3141 already stored)" in again.stdout


def test_a_malformed_file_in_a_multi_file_import(steward: Steward, tmp_path: Path) -> None:
    good = tmp_path / "good"
    shutil.copytree(SAMPLE, good)
    bad = corrupt(tmp_path)  # tmp_path/rec with six bad lines in events.jsonl, one in top_window
    result = steward.import_("agentnet", good, bad, scopes=AGENTNET_SCOPES)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    problems = [line for line in result.stderr.splitlines() if line.startswith(str(bad))]
    assert problems[0].startswith(f"{bad}/events.jsonl:5: not JSON")
    assert problems[1:] == [
        f"{bad}/events.jsonl:10: field 'y' must be a finite number, got None",
        f"{bad}/events.jsonl:71: unknown button 'thumb'",
        f"{bad}/events.jsonl:101: field 'time_stamp' must be a finite number, got 'soon'",
        f"{bad}/events.jsonl:201: unknown action 'teleport' (expected move, click, scroll, "
        "press, release)",
        f"{bad}/events.jsonl:301: not a JSON object",
        f"{bad}/top_window.jsonl:2: field 'top_window_name' must be a name, got None",
    ]
    valid = len(import_agentnet(good).events) + len(import_agentnet(bad).events)
    assert f"imported {valid} events (0 already stored) from 2 of 2" in result.stdout
    with steward.open() as store:
        stored = sum(t.num_rows for t in store.read_events(steward.person, actor="test"))
    assert stored == valid

    # a truncated IDFX file next to a good one: the file and line, and the good part kept
    text = gzip.decompress((IDFX / "J_il_1.idfx.gz").read_bytes()).decode("utf-8")
    cut = tmp_path / "cut.idfx"
    cut.write_text(text[: len(text) // 2], encoding="utf-8")
    mixed = steward.import_("idfx", IDFX / "K_il_1.idfx.gz", cut, scopes="all")
    assert mixed.returncode == 1, mixed.stderr
    [issue] = [line for line in mixed.stderr.splitlines() if re.match(rf"{cut}:\d+: ", line)]
    assert re.fullmatch(
        rf"{re.escape(str(cut))}:\d+: <log/event.*the rest of the file is lost", issue
    )
    assert "from 2 of 2 idfx path(s)" in mixed.stdout


def test_failures_are_one_line_with_exit_2(steward: Steward, tmp_path: Path) -> None:
    one_line_error(steward.import_("scriptlog", SAMPLE), r"unknown import format 'scriptlog'")
    one_line_error(
        steward("import", "agentnet", str(SAMPLE), "--store", str(tmp_path / "none"),
                "--master-key", str(steward.key), "--person", steward.person, "--scopes", "all"),
        r"no store at .*none",
    )  # fmt: skip
    one_line_error(steward.import_("agentnet", SAMPLE, person="p_0000"), r"unknown person p_0000")
    one_line_error(steward.import_("agentnet", SAMPLE, scopes="mouse,telepathy"), r"telepathy")
    one_line_error(
        steward.on_store("build", "actions", "--out", str(tmp_path / "o"), "--person", "p_0000"),
        r"unknown person p_0000",
    )
    one_line_error(
        steward.on_store("build", "gestures", "--out", str(tmp_path / "o")), r"unknown dataset"
    )
    one_line_error(
        steward.on_store("build", "actions", "--out", str(tmp_path / "o"), "--set", "drag=3"),
        r"unknown setting\(s\) for actions: drag",
    )
    one_line_error(
        steward("export", "pyautogui", "--actions", str(tmp_path), "--out", str(tmp_path / "e")),
        r"no dataset here",
    )
    # nothing usable at all: the problem, then one line
    missing = steward.import_("idfx", tmp_path / "missing.idfx")
    assert missing.returncode == 2 and "Traceback" not in missing.stderr
    lines = missing.stderr.strip().splitlines()
    assert lines[0] == f"{tmp_path / 'missing.idfx'}: cannot read: No such file or directory"
    assert lines[-1].startswith("workprint: error: nothing usable imported")
    # events outside the stated consent are refused by the store, and said so
    narrow = steward.import_("agentnet", SAMPLE, scopes="mouse")
    assert narrow.returncode == 1, narrow.stderr
    assert "events need a consent scope not in --scopes (mouse)" in narrow.stderr
    # a keystroke CSV holds many typists: one person's import takes one
    several = steward.import_("keystroke-csv", CSV)
    assert several.returncode == 2 and "chosen with --csv-user" in several.stderr
    one = steward.on_store(
        "import", "keystroke-csv", str(CSV), "--person", steward.person, "--scopes", "all",
        "--csv-user", "1",
    )  # fmt: skip
    assert one.returncode == 0, one.stderr
    assert re.search(r"imported \d+ events .* 4 sessions", one.stdout), one.stdout


def input_span(result: ImportResult) -> int:
    """First to last input event of a recording (what the card's hours count), in ns."""
    kinds = KeyDown | KeyUp | MouseMove | MouseDown | MouseUp | Scroll
    inputs = [e.t for e in result.events if isinstance(e, kinds)]
    return max(inputs) - min(inputs)


def test_built_datasets_hold_no_name_or_raw_id_and_a_full_card(
    steward: Steward, tmp_path: Path
) -> None:
    assert steward.import_("agentnet", SAMPLE, scopes=AGENTNET_SCOPES).returncode == 0
    j = parse_idfx(gzip.decompress((IDFX / "J_il_1.idfx.gz").read_bytes()), "J_il_1.idfx")
    idfx = steward.import_("idfx", IDFX / "J_il_1.idfx.gz", scopes="all")
    assert idfx.returncode == 0, idfx.stderr
    outputs = []
    for kind, fmt in (("actions", "hf"), ("episodes", "parquet"), ("writing", "jsonl")):
        out = tmp_path / kind
        built = steward.on_store(
            "build", kind, "--out", str(out), "--format", fmt, "--actor", "steward:sam",
            "--set", "pause_s=1.5" if kind == "writing" else "episode_idle_s=60",
        )  # fmt: skip
        assert built.returncode == 0, built.stderr
        outputs.append(out)
    exported = tmp_path / "anthropic"
    result = steward("export", "anthropic", "--actions", str(outputs[0]), "--out", str(exported))
    assert result.returncode == 0, result.stderr
    outputs.append(exported)
    for out in outputs:
        data = all_bytes(out)
        for secret in (NAME, steward.person, "agentnet-agentnet-sample", "J_il_1"):
            assert secret.encode() not in data, (out, secret)
    rows = jsonl(outputs[2] / "train.jsonl")
    people = {row["person"] for row in rows}
    assert len(people) == 1 and str(people.pop()).startswith("anon-")
    assert all(str(row["doc"]).startswith(str(row["session"]) + "/") for row in rows)

    meta = read_card_header(outputs[2] / "README.md")["workprint"]
    assert meta["people"] == 1 and meta["sessions"] == 2
    assert meta["hours"] == round((input_span(import_agentnet(SAMPLE)) + input_span(j)) / 3.6e12, 3)
    assert meta["consent_scopes"] == [
        "input-timing", "text-content", "mouse", "app-usage", "window-titles", "browsing"
    ]  # fmt: skip
    assert meta["builder"] == "workprint.writing" and meta["thresholds"]["pause_s"] == 1.5
    assert meta["privacy_transforms"] == ["none (raw; not for release: see the release gate)"]
    actions = read_card_header(outputs[0] / "README.md")["workprint"]
    assert actions["thresholds"]["episode_idle_s"] == 60 and "drag_px" in actions["thresholds"]
    carried = read_card_header(exported / "README.md")["workprint"]
    assert carried["action_format"] == "anthropic"
    assert {k: carried[k] for k in ("people", "hours", "consent_scopes", "thresholds")} == {
        k: actions[k] for k in ("people", "hours", "consent_scopes", "thresholds")
    }
    # every read was audited, as the steward who built
    with steward.open() as store:
        reads = [e for e in store.audit_entries() if e.action == "events.read"]
        builds = [e for e in store.audit_entries() if e.action == "dataset.build"]
    assert len(reads) == 3 and {e.actor for e in reads} == {"steward:sam"}
    assert [e.target for e in builds] == ["actions", "episodes", "writing"]
