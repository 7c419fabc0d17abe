"""The CLI contracts of `workprint privacy anonymize-keystrokes|anonymize-mouse|evaluate-reid`,
run through the installed console script, including malformed input."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

DATA = Path(__file__).parent / "data" / "keystroke-timing"
SLICE = DATA / "fixed_text_20users.csv"
HEADER = "user,session,keyname,timepress,timerelease"


def workprint(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).with_name("workprint")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "workprint"]
    return subprocess.run(
        [*command, "privacy", *args], input=stdin, capture_output=True, text=True, timeout=300
    )


def _rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_anonymize_keystrokes_keeps_rows_labels_and_key_order() -> None:
    raw = SLICE.read_text()
    result = workprint("anonymize-keystrokes", "--seed", "1", stdin=raw)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    before, after = _rows(raw), _rows(result.stdout)
    assert after[0] == HEADER.split(",")
    assert len(after) == len(before)
    assert [r[:3] for r in after] == [r[:3] for r in before]
    changed = sum(a[3] != b[3] for a, b in zip(after[1:], before[1:], strict=True))
    assert changed > 0.9 * (len(before) - 1)
    for row in after[1:]:
        assert float(row[4]) >= float(row[3])


def test_malformed_lines_are_named_and_the_good_rows_processed() -> None:
    lines = SLICE.read_text().splitlines()
    bad = [
        "3,0,a,100",  # line 2: wrong column count
        "3,0,a,soon,200",  # line 3: non-numeric time
        "3,0,a,500,400",  # line 4: release before press
        "3,0,,500,600",  # line 5: empty key
    ]
    stdin = "\n".join([lines[0], *bad, *lines[1:]]) + "\n"
    result = workprint("anonymize-keystrokes", "--seed", "2", stdin=stdin)
    assert result.returncode == 0
    assert result.stderr.splitlines() == [
        "line 2: expected 5 columns, got 4",
        "line 3: timepress 'soon' is not a number",
        "line 4: timerelease 400 is before timepress 500",
        "line 5: empty keyname",
    ]
    assert len(_rows(result.stdout)) == len(lines)  # header + every good row


def test_missing_header_reads_the_contract_order_and_says_so() -> None:
    lines = SLICE.read_text().splitlines()[1:]
    result = workprint("anonymize-keystrokes", "--seed", "3", stdin="\n".join(lines) + "\n")
    assert result.returncode == 0
    assert result.stderr.strip() == f"line 1: no header; reading columns as {HEADER}"
    assert len(_rows(result.stdout)) == len(lines) + 1


def test_unusable_input_exits_non_zero_with_one_line() -> None:
    cases = {
        "": "workprint: error: empty input: expected the header " + HEADER,
        "who,when\n1,2\n": "workprint: error: line 1: expected the header " + HEADER,
        HEADER + "\n1,2\nx,y,z,a,b\n": "workprint: error: no usable rows (2 bad)",
        (DATA / "fixed_text_slice.csv").read_text(): "workprint: error: 3 people: anonymising "
        "by pooling needs at least 5; pass reference timings of other people",
    }
    for stdin, message in cases.items():
        result = workprint("anonymize-keystrokes", stdin=stdin)
        assert result.returncode == 2, stdin[:40]
        assert result.stdout == ""
        assert result.stderr.strip().splitlines()[-1] == message


def test_reference_pool_lets_a_small_release_through(tmp_path: Path) -> None:
    three = (DATA / "fixed_text_slice.csv").read_text()  # users 0-2
    others = [line for line in SLICE.read_text().splitlines() if line.split(",")[0] not in "012"]
    reference = tmp_path / "others.csv"
    reference.write_text("\n".join(others) + "\n")  # users 3-19, header kept
    result = workprint(
        "anonymize-keystrokes", "--seed", "4", "--reference", str(reference), stdin=three
    )
    assert result.returncode == 0, result.stderr
    assert [r[:3] for r in _rows(result.stdout)] == [r[:3] for r in _rows(three)]


def test_anonymize_mouse_keeps_endpoints_and_reports_bad_lines() -> None:
    stdin = "path,t,x,y\n" + "".join(
        f"p{p},{1000 + 17 * i + (i * i) % 5},{10 * i + p},{i * i}\n"
        for p in range(3)
        for i in range(12)
    )
    stdin += "p9,abc,1,2\np9,1,2\n"
    result = workprint("anonymize-mouse", "--seed", "1", stdin=stdin)
    assert result.returncode == 0
    assert result.stderr.splitlines() == [
        "line 38: t, x and y must be numbers",
        "line 39: expected 4 columns, got 3",
    ]
    before, after = _rows(stdin)[1:37], _rows(result.stdout)[1:]
    assert len(after) == 36
    for p in range(3):
        mine_before = [r for r in before if r[0] == f"p{p}"]
        mine_after = [r for r in after if r[0] == f"p{p}"]
        for index in (0, -1):
            assert [float(v) for v in mine_after[index][1:]] == [
                float(v) for v in mine_before[index][1:]
            ]
    bad_header = workprint("anonymize-mouse", stdin="t,x,y\n1,2,3\n")
    assert bad_header.returncode == 2
    assert "line 1: expected the header path,t,x,y" in bad_header.stderr


def test_evaluate_reid_prints_a_table_and_json() -> None:
    args = ("evaluate-reid", str(SLICE), "--seed", "5", "--classifier", "centroid")
    table = workprint(*args, "--features", "coarse")
    assert table.returncode == 0, table.stderr
    for label in ("raw", "anonymised_vs_raw_trained", "anonymised_vs_anonymised_trained"):
        assert label in table.stdout
    assert "typing speed error per session" in table.stdout
    as_json = workprint(*args, "--json", "--features", "full", "--keep-speed", "0.1")
    assert as_json.returncode == 0, as_json.stderr
    report = json.loads(as_json.stdout)
    assert report["people"] == 20 and report["chance"] == 0.05
    assert report["utility"]["speed_error_max"] <= 0.1
    assert set(report["best"]) >= {"raw", "anonymised_vs_anonymised_trained"}
    unknown = workprint("evaluate-reid", str(SLICE), "--classifier", "magic")
    assert unknown.returncode == 2
    assert "unknown classifier 'magic'" in unknown.stderr
    missing = workprint("evaluate-reid", "/nonexistent.csv")
    assert missing.returncode == 2
    assert missing.stderr.startswith("workprint: error: /nonexistent.csv:")
