"""Keystroke-timing CSV import: real rows rebuild the texts people typed (with Shift giving the
capitals), and malformed rows are precise issues while every other row is imported."""

from __future__ import annotations

from pathlib import Path

from workprint.builders.writing import build_writing, table_to_records
from workprint.events import KeyDown, KeyUp, SessionStart, SessionStop
from workprint.interop.keystroke_csv import import_keystroke_csv

SLICE = Path(__file__).parent / "data" / "keystroke-timing" / "fixed_text_slice.csv"


def test_real_rows_rebuild_the_typed_texts() -> None:
    result = import_keystroke_csv(SLICE)
    assert result.issues == []
    assert result.metadata == {"sessions": 12} and result.session == "fixed_text_slice"
    downs = [e for e in result.events if isinstance(e, KeyDown)]
    ups = [e for e in result.events if isinstance(e, KeyUp)]
    assert len(downs) == len(ups) == 1200
    records = {r.session: r for r in table_to_records(build_writing(result.table()))}
    assert len(records) == 12
    first = records["fixed_text_slice-u0-s0"]
    assert first.final_text.startswith(
        "The itsy bitsy spider climbed up the waterspout.\nDown cam the rain\n"
    )
    assert all(r.n_keystrokes == 100 for r in records.values())
    # four rhymes, each typed by each of three people (100 keystrokes of it)
    phrases = ("itsy bitsy spider", "a little lamb", "a great fall", "little star")
    found = [next(p for p in phrases if p in r.final_text) for r in records.values()]
    assert sorted(found) == sorted(phrases * 3)
    assert records["fixed_text_slice-u1-s1"].final_text.startswith("Mary had a little lamb,\nHis")


def test_events_of_a_session_are_in_time_order_with_held_modifiers() -> None:
    result = import_keystroke_csv(SLICE)
    session = [e for e in result.events if e.session == "fixed_text_slice-u0-s0"]
    assert isinstance(session[0], SessionStart) and isinstance(session[-1], SessionStop)
    assert [e.seq for e in session] == list(range(len(session)))
    times = [e.t for e in session]
    assert times == sorted(times)
    # row 2: shift 0–374 ms; row 3: "t" pressed at 296 ms while Shift is held → "T"
    shift, t_key = session[1], session[2]
    assert isinstance(shift, KeyDown) and shift.key == "Shift_L" and shift.cls == "modifier"
    assert isinstance(t_key, KeyDown) and (t_key.key, t_key.char, t_key.mods) == (
        "T",
        "T",
        ("shift",),
    )
    assert t_key.t == 296_000_000


def test_malformed_rows_are_issues_naming_file_line_and_problem(tmp_path: Path) -> None:
    path = tmp_path / "typing.csv"
    path.write_text(
        "user,session,keyname,timepress,timerelease\n"
        "7,1,shift,0,300\n"
        "7,1,h,100,180\n"
        "7,1,i,200\n"
        "7,1,i,abc,250\n"
        "7,1,i,260,240\n"
        "7,1,,270,300\n"
        "7,1,hyperdrive,280,300\n"
        "\n"
        "7,1,i,400.5,480\n"
        "8,2,period,10,20\n",
        encoding="utf-8",
    )
    result = import_keystroke_csv(path)
    assert [str(i) for i in result.issues] == [
        "typing.csv:4: 4 fields, the header has 5",
        "typing.csv:5: timepress 'abc' is not a time in milliseconds",
        "typing.csv:6: timerelease 240 is before timepress 260",
        "typing.csv:7: empty keyname",
        "typing.csv:8: unknown key name 'hyperdrive': kept as an unnamed key (timing only)",
    ]
    records = {r.session: r for r in table_to_records(build_writing(result.table()))}
    assert records["typing-u7-s1"].final_text == "Hi"
    assert records["typing-u7-s1"].n_keystrokes == 4
    assert records["typing-u8-s2"].final_text == "."
    kept_i = [e for e in result.events if isinstance(e, KeyDown) and e.char == "i"]
    assert [e.t for e in kept_i] == [400_500_000]


def test_a_file_without_the_columns_imports_nothing_and_says_why(tmp_path: Path) -> None:
    path = tmp_path / "other.csv"
    path.write_text("a,b,c\n1,2,3\n", encoding="utf-8")
    result = import_keystroke_csv(path)
    assert result.events == []
    assert [str(i) for i in result.issues] == [
        "other.csv:1: header must name the columns user,session,keyname,timepress,timerelease"
    ]


def test_caps_lock_and_shift_combine_and_undecodable_bytes_are_reported(tmp_path: Path) -> None:
    path = tmp_path / "caps.csv"
    rows = b"user,session,keyname,timepress,timerelease\n1,1,caps_lock,0,10\n1,1,a,20,30\n"
    rows += b"1,1,shift,40,90\n1,1,b,50,60\n1,1,caps_lock,100,110\n1,1,c,120,130\n"
    rows += b"1,1,\xff,140,150\n"
    path.write_bytes(rows)
    result = import_keystroke_csv(path)
    [issue] = result.issues
    assert issue.line == 8 and issue.problem.startswith("not UTF-8")
    [record] = table_to_records(build_writing(result.table()))
    assert record.final_text.startswith("Abc")
