"""The `workprint privacy scan` contract: one JSON line out per line in, in order, offsets into
the original text; a bad line gives {"id": null, "error": ...} and the rest goes on; exit 0."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workprint.cli.privacy import scan_stream
from workprint.privacy import Surrogates

ROOT = Path(__file__).resolve().parents[1]


def run_scan(data: bytes, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "workprint", "privacy", "scan", *args],
        input=data,
        capture_output=True,
        cwd=ROOT,
        timeout=120,
    )


def scan_bytes(data: bytes) -> list[dict[str, Any]]:
    sink = io.BytesIO()
    scan_stream(io.BytesIO(data), sink, None, line_buffered=False)
    out = sink.getvalue()
    assert out.endswith(b"\n") or out == b""
    # JSON lines end at "\n" only: U+2028 and U+0085 may stand raw inside a JSON string
    return [json.loads(line) for line in out.decode("utf-8").split("\n")[:-1]]


def check_record(record: dict[str, Any], original: str) -> None:
    """Offsets index the original, are ordered and disjoint, and redacting there gives "text"."""
    assert set(record) == {"id", "text", "spans"}
    pos, parts = 0, []
    for span in record["spans"]:
        assert set(span) == {"start", "end", "type"}
        assert pos <= span["start"] < span["end"] <= len(original)
        parts += [original[pos : span["start"]], f"<{span['type']}>"]
        pos = span["end"]
    assert "".join([*parts, original[pos:]]) == record["text"]


def test_real_command_good_and_malformed_lines() -> None:
    lines = [
        b'{"id": 1, "text": "mail anna@example.com"}',
        b"not json at all",
        b"",
        b"[1, 2, 3]",
        b'{"id": "x"}',
        b'{"id": {"nested": [1]}, "text": 42}',
        b'{"id": 2, "text": "caf\xc3\xa9 \xff"}',
        b'"just a string"',
        b'{"id": 123456789012345678901234567890, "text": "SSN 078-05-1120"}',
        b'{"text": "no id here, call +44 7700 900123"}',
        b'{"id": 3.5, "text": ""}',
    ]
    result = run_scan(b"\n".join(lines) + b"\n")
    assert result.returncode == 0, result.stderr
    out = [json.loads(line) for line in result.stdout.decode().splitlines()]
    assert len(out) == len(lines)
    assert out[0] == {
        "id": 1,
        "text": "mail <EMAIL>",
        "spans": [{"start": 5, "end": 21, "type": "EMAIL"}],
    }
    errors = {i: out[i]["error"] for i in (1, 2, 3, 4, 5, 6, 7)}
    assert all(out[i]["id"] is None and set(out[i]) == {"id", "error"} for i in errors)
    assert errors[1].startswith("invalid JSON")
    assert errors[2] == "empty line"
    assert errors[3] == "expected a JSON object, got list"
    assert errors[4] == 'missing "text"'
    assert errors[5] == '"text" must be a string, got int'
    assert errors[6].startswith("invalid UTF-8")
    assert errors[7] == "expected a JSON object, got str"
    assert out[8]["id"] == 123456789012345678901234567890 and out[8]["text"] == "SSN <GOV_ID>"
    assert out[9]["id"] is None and out[9]["text"] == "no id here, call <PHONE>"
    assert out[10] == {"id": 3.5, "text": "", "spans": []}


def test_real_command_last_line_without_newline_and_crlf() -> None:
    result = run_scan(b'{"id": "a", "text": "x"}\r\n{"id": "b", "text": "y"}')
    assert result.returncode == 0
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["id"] for r in out] == ["a", "b"]


def test_real_command_with_surrogate_key(tmp_path: Path) -> None:
    key = tmp_path / "release.key"
    key.write_bytes(b"0123456789abcdef0123456789abcdef")
    data = b'{"id": 1, "text": "a@b.co and a@b.co"}\n'
    result = run_scan(data, "--surrogate-key", str(key))
    assert result.returncode == 0
    token = Surrogates(b"0123456789abcdef0123456789abcdef")  # same key, same tokens
    from workprint.privacy import EntityType

    expected = token(EntityType.EMAIL, "a@b.co")
    assert json.loads(result.stdout)["text"] == f"{expected} and {expected}"
    bad = run_scan(data, "--surrogate-key", str(tmp_path / "missing"))
    assert bad.returncode == 2 and b"surrogate-key" in bad.stderr


def test_huge_line_is_one_output_line() -> None:
    text = "Call Anna Berg at +44 7700 900123 about order 8834112. " * 40_000  # ~2.2 MB
    data = (
        json.dumps({"id": "big", "text": text}).encode()
        + b"\n"
        + b'{"id": "after", "text": "ok"}\n'
    )
    out = scan_bytes(data)
    assert [r["id"] for r in out] == ["big", "after"]
    check_record(out[0], text)
    assert len(out[0]["spans"]) == 80_000


def test_eval_command_prints_table_and_fails_cleanly_on_missing_corpus() -> None:
    corpus = ROOT / "tests" / "data" / "pii" / "workprint_dev.txt"
    ok = subprocess.run(
        [sys.executable, "-m", "workprint", "privacy", "eval", str(corpus)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert ok.returncode == 0, ok.stderr
    assert "| **overall** |" in ok.stdout and "| SECRET |" in ok.stdout
    missing = subprocess.run(
        [sys.executable, "-m", "workprint", "privacy", "eval", "/nonexistent/corpus.json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert missing.returncode == 2
    assert missing.stderr.startswith("workprint: error: corpus /nonexistent/corpus.json")
    assert "Traceback" not in missing.stderr


PII_BITS = st.sampled_from(
    [
        "anna@example.com",
        "+44 7700 900123",
        "4111 1111 1111 1111",
        "DE89 3704 0044 0532 0130 00",
        "078-05-1120",
        "10.20.30.40",
        "Dear Mr. Smith",
        "password: hunter22",
        "AKIA4TFJGVQ4K7BN7XJ8",
        "https://u:p@h.example",
        "221 Baker Street, London NW1 6XE",
        "born on 1/2/1990",
        "\n",
        " ",
        "é",
        "😀",
        "\u2028",
        "\x00",
    ]
)
TEXTS = st.lists(st.one_of(st.text(max_size=30), PII_BITS), max_size=12).map("".join)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)
GOOD_LINES = st.builds(
    lambda i, t: json.dumps({"id": i, "text": t}, ensure_ascii=False).encode(), JSON_VALUES, TEXTS
)
BAD_LINES = st.one_of(
    st.binary(max_size=60).map(lambda b: b.replace(b"\n", b"")),
    JSON_VALUES.map(lambda v: json.dumps(v).encode()),
    st.builds(lambda i, t: json.dumps({"id": i, "text": t}).encode(), JSON_VALUES, JSON_VALUES),
)


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(GOOD_LINES, BAD_LINES), max_size=15))
def test_fuzz_one_line_out_per_line_in_never_crashes(lines: list[bytes]) -> None:
    out = scan_bytes(b"".join(line + b"\n" for line in lines))
    assert len(out) == len(lines)
    for line, record in zip(lines, out, strict=True):
        try:  # strict JSON, as the CLI reads it: NaN/Infinity are not JSON
            parsed = json.loads(line, parse_constant=_reject_constant)
        except (ValueError, UnicodeDecodeError):
            parsed = None
        if isinstance(parsed, dict) and isinstance(parsed.get("text"), str) and line.strip():
            assert record["id"] == parsed.get("id")
            check_record(record, parsed["text"])
        else:
            assert record["id"] is None and isinstance(record["error"], str)
