"""The writing-process builder on small, hand-checked streams: each definition of docs/writing.md
(pause, P-burst, R-burst, revision, the cursor-model rules, editor logs) shown on an example.
Every case runs both builders and requires identical output."""

from __future__ import annotations

import pyarrow as pa
import pytest

from workprint.builders.executor import InProcessExecutor
from workprint.builders.writing import (
    WRITING_SCHEMA,
    EditorEntry,
    WritingConfig,
    WritingRecord,
    build_writing,
    build_writing_batches,
    build_writing_reference,
    editor_to_table,
    records_to_table,
    table_to_records,
)
from workprint.events import Event, KeyDown, MouseDown, MouseMove, WindowFocus
from workprint.events.columnar import events_to_table
from workprint.events.model import Modifier

MS = 1_000_000


class Stream:
    """Builds a session's events: ``type("abc")``, ``key("Left", "shift")``, ``wait(3000)``."""

    def __init__(self, session: str = "s") -> None:
        self.session, self.t, self.seq = session, 0, 0
        self.events: list[Event] = []
        self.entries: list[EditorEntry] = []

    def stamp(self, gap_ms: int = 100) -> tuple[int, int]:
        self.t += gap_ms * MS
        self.seq += 1
        return self.t, self.seq

    def wait(self, ms: int) -> Stream:
        self.t += ms * MS
        return self

    def key(self, name: str | None, *mods: Modifier, char: str | None = None) -> Stream:
        t, seq = self.stamp()
        cls = "letter" if char and char.isalpha() else "navigation"
        event = KeyDown(t=t, session=self.session, seq=seq, cls=cls, key=name, char=char, mods=mods)
        self.events.append(event)
        return self

    def type(self, text: str) -> Stream:
        for c in text:
            self.key("Return" if c == "\n" else c, char=c)
        return self

    def focus(self, window: int, app: str = "Editor", title: str | None = "doc") -> Stream:
        t, seq = self.stamp()
        self.events.append(
            WindowFocus(t=t, session=self.session, seq=seq, app=app, title=title, window=window)
        )
        return self

    def click(self) -> Stream:
        t, seq = self.stamp()
        self.events.append(MouseDown(t=t, session=self.session, seq=seq, x=1, y=1, button=1))
        return self

    def note(self, **fields: int | str | None) -> Stream:
        """An editor-log entry for the last key (or, with ``alone=1``, an entry of its own)."""
        alone = fields.pop("alone", None)
        t, seq = self.stamp(0) if alone else (self.t, self.seq)
        self.entries.append(EditorEntry(session=self.session, seq=seq, t=t, **fields))  # type: ignore[arg-type]
        return self


def build(*streams: Stream, config: WritingConfig | None = None) -> list[WritingRecord]:
    events = [e for s in streams for e in s.events]
    entries = [e for s in streams for e in s.entries]
    table = events_to_table(events)
    editor = editor_to_table(entries) if entries else None
    fast = build_writing(table, config, editor)
    assert fast.schema == WRITING_SCHEMA
    assert fast.equals(build_writing_reference(table, config, editor))
    return table_to_records(fast)


def one(*streams: Stream, config: WritingConfig | None = None) -> WritingRecord:
    [record] = build(*streams, config=config)
    return record


def test_typing_backspace_and_arrows_rebuild_the_text() -> None:
    s = Stream().focus(1).type("Hello workprnt").key("BackSpace").key("BackSpace").type("int")
    s.key("End").key("exclam", "shift", char="!").key("Left").key("Left").type("X")
    record = one(s)
    assert record.final_text == "Hello workprinXt!"
    assert (record.doc, record.app, record.title, record.window) == ("s/1", "Editor", "doc", 1)
    assert record.n_keystrokes == 24 and len(record.edits) == 21
    assert record.edits[14] == record.edits[14].__class__(
        t=record.edits[14].t,
        seq=record.edits[14].seq,
        op="delete",
        pos=13,
        deleted="t",
        inserted="",
    )


def test_pause_is_an_inter_key_interval_of_at_least_the_threshold() -> None:
    s = Stream().focus(1).type("ab").wait(2000).type("c").wait(1500).type("d")
    record = one(s)
    [pause] = record.pauses
    assert pause.duration == 2100 * MS and pause.pos == 2 and pause.seq == 4
    assert [(b.kind, b.n_keys, b.text_after) for b in record.bursts] == [
        ("P", 2, "ab"),
        ("P", 2, "abcd"),
    ]
    relaxed = one(s, config=WritingConfig(pause_s=5))
    assert relaxed.pauses == [] and len(relaxed.bursts) == 1
    assert relaxed.pause_threshold == 5_000_000_000


def test_a_revision_ends_an_r_burst_and_deletions_group_into_one_revision() -> None:
    s = Stream().focus(1).type("teh").key("BackSpace").key("BackSpace").type("he cat")
    record = one(s)
    assert record.final_text == "the cat"
    assert [(b.kind, b.text_after) for b in record.bursts] == [("R", "teh"), ("P", "the cat")]
    [revision] = record.revisions
    assert (revision.first_edit, revision.n_edits, revision.pos) == (3, 2, 2)
    assert (revision.n_deleted, revision.n_inserted) == (2, 0)
    assert record.n_revisions == 1


def test_insertion_away_from_the_end_is_a_revision() -> None:
    s = Stream().focus(1).type("a cat").key("Home").key("Right").key("Right").type("big ")
    record = one(s)
    assert record.final_text == "a big cat"
    [revision] = record.revisions
    assert (revision.pos, revision.n_edits, revision.n_inserted) == (2, 4, 4)
    # the caret move ended the first burst (R); typing in the middle is a burst too
    assert [b.kind for b in record.bursts] == ["R", "P"]


def test_typing_over_a_selection_replaces_it() -> None:
    s = Stream().focus(1).type("hello").key("Left", "shift").key("Left", "shift").type("p!")
    record = one(s)
    assert record.final_text == "help!"
    replace = record.edits[5]
    assert (replace.op, replace.pos, replace.deleted, replace.inserted) == ("replace", 3, "lo", "p")


def test_ctrl_shortcuts_select_all_word_delete_and_clipboard() -> None:
    s = Stream().focus(1).type("one two").key("BackSpace", "ctrl").type("six")
    s.key("a", "ctrl", char="a").key("c", "ctrl", char="c").key("End").key("v", "ctrl", char="v")
    s.key("Left", "ctrl", "shift").key("x", "ctrl", char="x")
    record = one(s)
    assert record.final_text == "one sixone "
    no_clipboard = one(s, config=WritingConfig(clipboard=False))
    assert no_clipboard.final_text == "one "  # the cut still deletes; the paste is unknown
    assert no_clipboard.n_unmodelled == 1 and record.n_unmodelled == 0


def test_home_end_up_down_follow_logical_lines_and_keep_the_column() -> None:
    s = Stream().focus(1).type("abcdef\nab\nabcdef").key("Up").key("Up").type("X")
    s.key("Down", "ctrl").key("End", "ctrl").key("Home").type(">")
    assert one(s).final_text == "abcdefX\nab\n>abcdef"


def test_documents_are_session_windows_and_keep_their_state_across_focus_changes() -> None:
    s = Stream().type("none").focus(1, title="a").type("one").focus(2, "Mail", None).type("two")
    s.focus(1, title="a (edited)").type("!")
    other = Stream("r").focus(1).type("x")
    records = build(s, other)
    assert [(r.doc, r.app, r.title, r.final_text) for r in records] == [
        ("r/1", "Editor", "doc", "x"),
        ("s/0", None, None, "none"),
        ("s/1", "Editor", "a", "one!"),
        ("s/2", "Mail", None, "two"),
    ]


def test_clicks_are_counted_and_end_a_burst_but_do_not_move_the_modelled_caret() -> None:
    s = Stream().focus(1).type("ab").click().type("c")
    record = one(s)
    assert record.final_text == "abc" and record.n_clicks == 1
    assert [b.kind for b in record.bursts] == ["R", "P"]


def test_keys_without_text_content_are_counted_as_redacted() -> None:
    s = Stream().focus(1)
    for _ in range(3):
        t, seq = s.stamp()
        s.events.append(KeyDown(t=t, session="s", seq=seq, cls="letter"))
    s.key("BackSpace").key("Shift_L")
    record = one(s)
    assert (record.final_text, record.n_redacted, record.n_keystrokes) == ("", 3, 5)


def test_editor_log_places_the_caret_and_says_what_a_key_did() -> None:
    s = Stream().focus(1).type("abcd").note(caret=3, doc_len=3)
    s.key("m", char="m").note(caret=1, start=1, end=3, text="m")  # a mouse selection, then "m"
    s.note(alone=1, start=0, end=1, text="A")  # autocorrect: no key caused it
    s.type("!").note(caret=99, doc_len=7)
    record = one(s)
    assert record.final_text == "Amd!"
    assert [(op.op, op.pos, op.deleted, op.inserted) for op in record.edits][-3:] == [
        ("replace", 1, "bc", "m"),
        ("replace", 0, "a", "A"),
        ("insert", 3, "", "!"),  # caret 99 is beyond the text: clamped to its end
    ]
    assert record.n_editor_mismatches == 2  # that caret, and doc_len 7 where the text has 3


def test_mouse_only_stream_gives_an_empty_table_and_rows_need_not_be_sorted() -> None:
    moves = [MouseMove(t=i, session="s", seq=i, x=i, y=i) for i in range(5)]
    assert build_writing(events_to_table(moves)).num_rows == 0
    s = Stream().focus(1).type("sorted")
    table = events_to_table(list(reversed(s.events)))
    [record] = table_to_records(build_writing(table))
    assert record.final_text == "sorted"


def test_record_structs_and_table_convert_exactly() -> None:
    records = build(Stream().focus(1).type("ab").wait(3000).key("BackSpace").type("c"))
    table = records_to_table(records)
    assert table.schema == WRITING_SCHEMA
    assert table_to_records(table) == records


@pytest.mark.parametrize("chunks", [1, 3])
def test_chunked_input_with_different_dictionaries(chunks: int) -> None:
    s = Stream().focus(1).type("chunked text").focus(2, "B").type("b")
    size = -(-len(s.events) // chunks)
    parts = [events_to_table(s.events[i : i + size]) for i in range(0, len(s.events), size)]
    table = pa.concat_tables(parts)
    assert table.column("type").num_chunks == chunks
    texts = [r.final_text for r in table_to_records(build_writing(table))]
    assert texts == ["chunked text", "b"]


def test_session_batches_through_the_executor_equal_one_build_over_everything() -> None:
    sessions = [
        Stream(f"s{i}").focus(1).type(f"text {i}").wait(2500).key("BackSpace") for i in range(3)
    ]
    tables = [events_to_table(s.events) for s in sessions]
    config = WritingConfig(pause_s=1)
    batched = list(build_writing_batches(tables, config, InProcessExecutor()))
    assert [t.num_rows for t in batched] == [1, 1, 1]
    whole = build_writing(pa.concat_tables(tables), config)
    assert pa.concat_tables(batched).equals(whole)
    assert [r.final_text for r in table_to_records(whole)] == ["text ", "text ", "text "]
