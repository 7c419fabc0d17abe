"""IDFX import: the 8 real ScriptLog sessions replay to their final texts exactly, and damaged
files give precise issues while the valid part is still imported."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime
from pathlib import Path

import pytest

from workprint.builders.writing import (
    build_writing,
    build_writing_reference,
    table_to_records,
)
from workprint.events import KeyDown, KeyUp, SessionStart, SessionStop, WindowFocus
from workprint.interop.idfx import import_idfx, parse_idfx

DATA = Path(__file__).parent / "data" / "idfx"
SESSIONS = ["A", "C", "J", "K", "M", "N", "P", "R"]


def normalise_line_endings(text: str) -> str:
    """CRLF/CR → LF, and a line ending at the very end is not significant (P's final-text export
    drops the empty last paragraph the log shows)."""
    return text.replace("\r\n", "\n").replace("\r", "\n").rstrip("\n")


def idfx_bytes(name: str) -> bytes:
    return gzip.decompress((DATA / f"{name}_il_1.idfx.gz").read_bytes())


@pytest.mark.parametrize("name", SESSIONS)
def test_session_replays_to_its_final_text(name: str) -> None:
    result = parse_idfx(idfx_bytes(name), f"{name}_il_1.idfx", f"{name}_il_1")
    expected = (DATA / "txt" / f"{name}_ft_1.txt").read_text(encoding="utf-8")
    events, editor = result.table(), result.editor_table()
    fast = build_writing(events, editor=editor)
    reference = build_writing_reference(events, editor=editor)
    assert fast.equals(reference)
    [record] = table_to_records(fast)
    assert normalise_line_endings(record.final_text) == normalise_line_endings(expected)
    # the editor log agreed with the cursor model at every keystroke
    assert record.n_editor_mismatches == 0
    assert record.n_unmodelled == 0 and record.n_redacted == 0
    keys = [e for e in result.events if isinstance(e, KeyDown)]
    assert record.n_keystrokes == len(keys) == len(editor)
    # every edit is explained by exactly one keystroke, in order
    seqs = [op.seq for op in record.edits]
    assert seqs == sorted(set(seqs)) and set(seqs) <= {k.seq for k in keys}
    # replaying the edits gives the final text, and each burst's text is the text at its end
    text, after = "", {}
    for op in record.edits:
        assert text[op.pos : op.pos + len(op.deleted)] == op.deleted
        text = text[: op.pos] + op.inserted + text[op.pos + len(op.deleted) :]
        after[op.seq] = text
    assert text == record.final_text
    assert record.bursts and all(b.text_after == after[b.last_seq] for b in record.bursts)
    assert sum(b.n_keys for b in record.bursts) == sum(op.op == "insert" for op in record.edits)
    assert {b.kind for b in record.bursts} <= {"P", "R"}
    assert all(p.duration >= record.pause_threshold for p in record.pauses)


def test_a_session_is_mapped_to_events_with_wall_clock_times() -> None:
    result = parse_idfx(idfx_bytes("A"), "A_il_1.idfx", "A_il_1")
    assert result.issues == [] and result.session == "A_il_1"
    start, focus, first = result.events[:3]
    assert isinstance(start, SessionStart) and start.source == "idfx"
    assert isinstance(focus, WindowFocus) and (focus.app, focus.title) == (
        "ScriptLog",
        "WordLog.docx",
    )
    # __LogCreationDate 20/11/23 08:10:34.609 at relative 341696851 ms; first key at 341699822
    created = datetime(2020, 11, 23, 8, 10, 34, 609000, tzinfo=UTC)
    assert isinstance(first, KeyDown) and (first.key, first.char) == ("D", "D")
    assert first.t == (int(created.timestamp() * 1000) + 341699822 - 341696851) * 1_000_000
    up = result.events[3]
    assert isinstance(up, KeyUp) and up.t - first.t == 5_000_000
    assert isinstance(result.events[-1], SessionStop)
    seqs = [e.seq for e in result.events]
    assert seqs == sorted(set(seqs))
    backspaces = [e for e in result.events if isinstance(e, KeyDown) and e.key == "BackSpace"]
    assert backspaces and all(b.char is None and b.cls == "editing" for b in backspaces)
    umlauts = [e for e in result.events if isinstance(e, KeyDown) and e.char == "ü"]
    assert umlauts and umlauts[0].key == "udiaeresis"
    # the participant's name in <session> is personal data and is not carried over
    assert "Participant" not in result.metadata and result.metadata["Text Language"] == "deu"


def test_paste_and_replacements_become_editor_edits() -> None:
    result = parse_idfx(idfx_bytes("P"), "P_il_1.idfx", "P_il_1")
    paste = result.editor[0]
    assert paste.start == paste.end == 0 and paste.text is not None
    assert paste.text.startswith("Wie funktioniert das, was da gezeigt wird?\n")
    deletes = [e for e in result.editor if e.start is not None and e.text == "" and e.end]
    assert len(deletes) == 33  # the 33 <event type="replacement"> of this file


def test_stray_bytes_before_the_declaration_are_reported_and_skipped() -> None:
    result = parse_idfx(idfx_bytes("M"), "M_il_1.idfx", "M_il_1")
    assert [str(i) for i in result.issues] == [
        "M_il_1.idfx:1: <prolog>: 6 characters before the XML declaration ignored: 'VK_END'"
    ]
    assert sum(isinstance(e, KeyDown) for e in result.events) == 976


HEAD = (
    '<?xml version="1.0" encoding="{enc}"?>\n<log>\n<meta>'
    "<entry><key>__LogCreationDate</key><value>20/11/23 08:10:34.609</value></entry>"
    "<entry><key>__LogRelativeCreationDate</key><value>1000</value></entry></meta>\n"
)


def key_event(n: int, key: str, value: str, pos: int, length: int, replay: str = "True") -> str:
    return (
        f'<event id="{n}" type="keyboard">\n<part type="wordlog"><position>{pos}</position>'
        f"<documentLength>{length}</documentLength><replay>{replay}</replay></part>\n"
        f'<part type="winlog"><startTime>{2000 + 100 * n}</startTime>'
        f"<endTime>{2005 + 100 * n}</endTime><key>{key}</key><value>{value}</value>"
        "<keyboardstate></keyboardstate></part>\n</event>\n"
    )


def test_control_characters_raw_and_referenced_are_tolerated(tmp_path: Path) -> None:
    body = (
        key_event(0, "VK_A", "a", 0, 1)
        + key_event(1, "VK_B", "b", 1, 2)
        + key_event(2, "VK_BACK", "&#x8;", 2, 3)
        + key_event(3, "VK_BACK", "\x08", 1, 2)  # a raw control byte, illegal in XML 1.0
        + key_event(4, "NONE", "&#252;", 0, 1)
        + "</log>\n"
    )
    path = tmp_path / "ctrl.idfx"
    path.write_bytes("\ufeff".encode() + (HEAD.format(enc="UTF-8") + body).encode())
    result = import_idfx(path)
    assert result.issues == []
    assert result.session == "ctrl"
    [record] = table_to_records(build_writing(result.table(), editor=result.editor_table()))
    assert record.final_text == "ü"
    assert [op.op for op in record.edits] == ["insert", "insert", "delete", "delete", "insert"]


def test_declared_latin1_encoding_is_honoured() -> None:
    data = (HEAD.format(enc="ISO-8859-1") + key_event(0, "NONE", "ä", 0, 1) + "</log>").encode(
        "latin-1"
    )
    result = parse_idfx(data, "latin.idfx")
    [record] = table_to_records(build_writing(result.table(), editor=result.editor_table()))
    assert record.final_text == "ä" and result.issues == []


def test_undecodable_bytes_are_reported_with_their_line() -> None:
    data = (HEAD.format(enc="UTF-8") + key_event(0, "VK_A", "a", 0, 1)).encode()
    data += key_event(1, "NONE", "X", 1, 2).encode().replace(b"X", b"\xff") + b"</log>"
    result = parse_idfx(data, "bad.idfx")
    [issue] = result.issues
    assert issue.file == "bad.idfx" and issue.line == 10
    assert "not valid UTF-8" in issue.problem and "U+FFFD" in issue.problem


def test_truncated_file_keeps_every_complete_event() -> None:
    text = (
        HEAD.format(enc="UTF-8") + key_event(0, "VK_A", "a", 0, 1) + key_event(1, "VK_B", "b", 1, 2)
    )
    text = text[: text.rindex("<endTime>")]  # cut inside the second event
    result = parse_idfx(text.encode(), "cut.idfx")
    [issue] = result.issues
    assert issue.file == "cut.idfx" and issue.line == 10
    assert "<log/event/part>" in issue.problem and "the rest of the file is lost" in issue.problem
    keys = [e for e in result.events if isinstance(e, KeyDown)]
    assert [k.char for k in keys] == ["a"]
    assert isinstance(result.events[-1], SessionStop)


def test_bad_event_fields_are_issues_naming_the_event_and_line() -> None:
    broken_time = key_event(1, "VK_B", "b", 1, 2).replace("<startTime>2100", "<startTime>soon")
    broken_pos = key_event(2, "VK_C", "c", 1, 2).replace("<position>1", "<position>x")
    text = (
        HEAD.format(enc="UTF-8")
        + key_event(0, "VK_A", "a", 0, 1)
        + broken_time
        + broken_pos
        + '<event id="3" type="mouse"><part type="winlog"></part></event>\n'
        + '<event id="4" type="replacement"><part type="wordlog"><start>5</start>'
        + "<end>2</end><newtext></newtext></part></event>\n</log>"
    )
    result = parse_idfx(text.encode(), "odd.idfx")
    messages = [str(i) for i in result.issues]
    assert messages == [
        'odd.idfx:8: <event id="1" type="keyboard">: startTime \'soon\' is not a time: skipped',
        'odd.idfx:12: <event id="2" type="keyboard">: wordlog position \'x\' is not a position',
        "odd.idfx:17: <event id=\"4\" type=\"replacement\">: replacement start '5', end '2' is "
        "not a range: skipped",
        'odd.idfx:16: <event type="mouse">: 1 events of this type not imported',
    ]
    [record] = table_to_records(build_writing(result.table(), editor=result.editor_table()))
    assert record.final_text == "ac"


def test_unreadable_path_is_an_issue_not_an_exception(tmp_path: Path) -> None:
    result = import_idfx(tmp_path / "missing.idfx")
    assert result.events == [] and len(result.issues) == 1
    assert result.issues[0].file == "missing.idfx" and "cannot read" in result.issues[0].problem
