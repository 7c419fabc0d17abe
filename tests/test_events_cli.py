"""`workprint events export|import` through the real console entry point, in a subprocess."""

from __future__ import annotations

import os
import random
import stat
import subprocess
import sys
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from strategies import event_lists

from workprint.crypto import load_or_create_device_key
from workprint.events import (
    ConsentChange,
    Event,
    Gap,
    KeyDown,
    KeyUp,
    MouseDown,
    MouseMove,
    MouseUp,
    Pause,
    Resume,
    Scroll,
    SessionStart,
    SessionStop,
    WindowFocus,
    encode_jsonl,
    iter_jsonl,
)
from workprint.home import Home
from workprint.spool import MAX_SEQ, Spool, load_or_create_device_id


def workprint(
    home: Path, *args: str, stdin: bytes | None = None
) -> subprocess.CompletedProcess[bytes]:
    env = dict(os.environ)
    env.pop("WORKPRINT_HOME", None)
    return subprocess.run(
        [sys.executable, "-m", "workprint", *args, "--home", str(home)],
        input=stdin,
        capture_output=True,
        env=env,
        timeout=120,
        check=False,
    )


def recorded_events(n: int, seed: int = 7) -> list[Event]:
    """A session with every event type and non-ASCII text, as the recorder would spool it."""
    rng = random.Random(seed)
    t = 1_700_000_000_000_000_000
    out: list[Event] = [
        SessionStart(t=t, session="s1", device="d", host="hôst", scopes=("mouse", "text-content")),
        ConsentChange(t=t + 1, session="s1", scopes=("mouse",), policy_version=3),
        WindowFocus(t=t + 2, session="s1", app="gedit", title='Ünïcödé ✓ "quoted"\t', pid=7),
    ]
    x = y = 500
    while len(out) < n - 4:
        t += rng.randint(1, 20_000_000)
        roll = rng.random()
        if roll < 0.9:
            x, y = x + rng.randint(-9, 9), y + rng.randint(-9, 9)
            out.append(MouseMove(t=t, session="s1", x=x, y=y))
        elif roll < 0.95:
            ch = rng.choice("aé漢 ")
            out.append(KeyDown(t=t, session="s1", cls="letter", key=ch, char=ch, mods=("shift",)))
            out.append(KeyUp(t=t + 5, session="s1", cls="letter", key=ch, char=ch))
        elif roll < 0.97:
            out.append(MouseDown(t=t, session="s1", x=x, y=y, button=1))
            out.append(MouseUp(t=t + 9, session="s1", x=x, y=y, button=1))
        else:
            out.append(Scroll(t=t, session="s1", x=x, y=y, dy=-1))
    out += [
        Pause(t=t + 1, session="s1"),
        Gap(t=t + 2, session="s1", reason="excluded", t_end=t + 3),
        Resume(t=t + 4, session="s1"),
        SessionStop(t=t + 5, session="s1"),
    ]
    return out


def spool_into(home: Path, events: list[Event], batch: int = 250) -> None:
    where = Home.resolve(home).ensure()
    key = load_or_create_device_key(where.device_key_file, "file")
    device = load_or_create_device_id(where.device_id_file)
    with Spool.open(where.spool_file, key, device_id=device) as spool:
        for start in range(0, len(events), batch):
            spool.append(events[start : start + batch])


def one_line_failure(result: subprocess.CompletedProcess[bytes], code: int) -> str:
    stderr = result.stderr.decode()
    assert result.returncode == code, stderr
    assert "Traceback" not in stderr
    assert stderr.count("\n") == 1 and stderr.startswith("workprint: error: ")
    return stderr


def test_export_import_export_is_byte_identical(tmp_path: Path) -> None:
    events = recorded_events(12_345)
    spool_into(tmp_path / "a", events)
    first = workprint(tmp_path / "a", "events", "export")
    assert first.returncode == 0, first.stderr
    assert list(iter_jsonl(first.stdout.splitlines())) == events  # seqs 1..n, in order
    (tmp_path / "a.jsonl").write_bytes(first.stdout)

    imported = workprint(tmp_path / "b", "events", "import", str(tmp_path / "a.jsonl"))
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout.decode().strip() == "imported 12345 events, rejected 0 lines"

    out = tmp_path / "b.jsonl"
    second = workprint(tmp_path / "b", "events", "export", "-o", str(out))
    assert second.returncode == 0, second.stderr
    assert out.read_bytes() == first.stdout
    assert stat.S_IMODE(out.stat().st_mode) == 0o600  # exported events are plaintext
    where = Home.resolve(tmp_path / "b")
    key = load_or_create_device_key(where.device_key_file, "file", create=False)
    device = load_or_create_device_id(where.device_id_file)
    with Spool.open(where.spool_file, key, device_id=device) as spool:
        stats = spool.stats()
        assert (stats.batches, stats.events, stats.next_seq) == (3, 12_345, 12_346)


@settings(
    max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(batch=event_lists(min_size=1, max_size=40))
def test_round_trip_of_arbitrary_events_and_seqs(tmp_path: Path, batch: list[Event]) -> None:
    """Arbitrary content and seqs (duplicated, unordered) survive import → export → import."""
    root = tmp_path / os.urandom(6).hex()
    root.mkdir()
    for event in batch:
        event.seq = min(event.seq, MAX_SEQ)  # the model allows up to 2**64 - 1; see below
    (root / "in.jsonl").write_bytes(encode_jsonl(batch))
    assert workprint(root / "x", "events", "import", str(root / "in.jsonl")).returncode == 0
    a = workprint(root / "x", "events", "export")
    assert sorted(iter_jsonl(a.stdout.splitlines()), key=repr) == sorted(batch, key=repr)
    assert workprint(root / "y", "events", "import", "-", stdin=a.stdout).returncode == 0
    b = workprint(root / "y", "events", "export")
    assert b.returncode == 0 and b.stdout == a.stdout


def test_bad_lines_are_reported_and_good_ones_imported(tmp_path: Path) -> None:
    good = recorded_events(20)
    lines = encode_jsonl(good).splitlines()
    lines.insert(2, b"this is not json")
    lines.insert(5, b'{"type":"mouse_move","session":"s1","x":1,"y":2}')
    lines.insert(9, b"")
    lines.insert(11, b'{"type":"warp_drive","t":1,"session":"s1"}')
    lines.insert(14, b"\xff\xfe garbage")
    source = tmp_path / "mixed.jsonl"
    source.write_bytes(b"\n".join(lines) + b"\n")

    result = workprint(tmp_path / "h", "events", "import", str(source))
    stderr = result.stderr.decode()
    assert result.returncode == 1, stderr
    assert "Traceback" not in stderr
    reported = stderr.splitlines()
    assert [line.split(":")[0] for line in reported] == ["line 3", "line 6", "line 12", "line 15"]
    assert "missing required field `t`" in reported[1]
    assert "warp_drive" in reported[2]
    assert result.stdout.decode().strip() == "imported 20 events, rejected 4 lines"

    exported = workprint(tmp_path / "h", "events", "export")
    assert list(iter_jsonl(exported.stdout.splitlines())) == good


def test_seq_beyond_the_spool_range_is_a_bad_line(tmp_path: Path) -> None:
    """SQLite stores signed 64-bit integers: the model bounds seq to the spool's range."""
    ok, big = recorded_events(6)[:2]
    ok.seq, big.seq = MAX_SEQ, MAX_SEQ + 1
    result = workprint(tmp_path / "h", "events", "import", "-", stdin=encode_jsonl([ok, big]))
    assert result.returncode == 1
    assert result.stderr.decode().startswith(f"line 2: Expected `int` <= {MAX_SEQ} - at `$.seq`")
    assert result.stdout.decode().strip() == "imported 1 events, rejected 1 lines"


def test_missing_file_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = workprint(tmp_path / "h", "events", "import", str(tmp_path / "nope.jsonl"))
    assert "nope.jsonl" in one_line_failure(result, 2)


def test_directory_instead_of_file_is_one_line_and_exit_2(tmp_path: Path) -> None:
    one_line_failure(workprint(tmp_path / "h", "events", "import", str(tmp_path)), 2)


def test_export_with_a_foreign_key_is_one_line_and_exit_2(tmp_path: Path) -> None:
    spool_into(tmp_path / "h", recorded_events(10))
    key_file = Home.resolve(tmp_path / "h").device_key_file
    key_file.write_bytes(bytes(32))
    assert "different device key" in one_line_failure(
        workprint(tmp_path / "h", "events", "export"), 2
    )


def test_export_of_a_named_spool_that_is_not_one(tmp_path: Path) -> None:
    spool_into(tmp_path / "h", recorded_events(10))
    bogus = tmp_path / "bogus.db"
    bogus.write_text("hello\n" * 50)
    result = workprint(tmp_path / "h", "events", "export", "--spool", str(bogus))
    assert "not a workprint spool" in one_line_failure(result, 2)
    result = workprint(tmp_path / "h", "events", "export", "--spool", str(tmp_path / "no.db"))
    assert "no spool" in one_line_failure(result, 2)


def test_export_of_a_fresh_home_is_empty(tmp_path: Path) -> None:
    result = workprint(tmp_path / "h", "events", "export")
    assert result.returncode == 0 and result.stdout == b""
    assert not Home.resolve(tmp_path / "h").device_key_file.exists()
