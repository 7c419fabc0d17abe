"""Property tests of the cursor model.

1. Random edit scripts, applied by a plain reference text model (string slicing), are typed as
   keystrokes in many different ways (arrows, Home/End, Ctrl+Home/End, selections, BackSpace vs
   Delete, Ctrl+A) amid noise (other windows, clicks, modifier keys, mouse moves): the rebuilt
   text equals the model's, and every text-changing keystroke is exactly one edit.
2. Arbitrary key streams (any key, modifiers, characters, focus changes, clicks, editor-log
   entries, shuffled rows, several Arrow chunks): the fast builder's output is identical to the
   per-event reference's, and no keystroke is lost or used twice.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from workprint.builders.writing import (
    EditorEntry,
    WritingConfig,
    WritingRecord,
    build_writing,
    build_writing_reference,
    editor_to_table,
    table_to_records,
)
from workprint.builders.writing.keys import CTRL_ACTIONS, PLAIN_ACTIONS, UNMODELLED_KEYS
from workprint.events import Event, KeyDown, KeyUp, MouseDown, MouseMove, WindowFocus
from workprint.events.columnar import events_to_table
from workprint.events.model import KeyClass, Modifier

ALPHABET = "ab cäßZ.\n-é"
SESSION = "s"


@dataclass
class Typist:
    """Turns text operations into keystrokes, tracking what the text and caret must be."""

    rnd: random.Random
    text: str = ""
    caret: int = 0
    t: int = 1_000_000_000
    seq: int = 10
    events: list[Event] = field(default_factory=list)
    changing: list[int] = field(default_factory=list)  # seqs of keys that must edit the text
    keys: int = 0

    def stamp(self) -> tuple[int, int]:
        self.t += self.rnd.choice([40, 90, 150, 400]) * 1_000_000
        if self.rnd.random() < 0.05:
            self.t += 2_500_000_000  # a pause
        self.seq += 1
        return self.t, self.seq

    def press(
        self,
        key: str,
        char: str | None = None,
        mods: tuple[Modifier, ...] = (),
        edits: bool = False,
    ) -> None:
        if self.rnd.random() < 0.1:  # noise: a mouse move (not picked), a modifier key alone
            t, seq = self.stamp()
            self.events.append(MouseMove(t=t, session=SESSION, seq=seq, x=1, y=2))
        t, seq = self.stamp()
        cls: KeyClass = "letter" if char else "navigation"
        down = KeyDown(t=t, session=SESSION, seq=seq, cls=cls, key=key, char=char, mods=mods)
        self.events.append(down)
        self.keys += 1
        if edits:
            self.changing.append(seq)
        t, seq = self.stamp()
        self.events.append(KeyUp(t=t, session=SESSION, seq=seq, cls=cls, key=key, char=char))

    def elsewhere(self) -> None:
        """Type into another window and come back: the document keeps its state."""
        t, seq = self.stamp()
        self.events.append(WindowFocus(t=t, session=SESSION, seq=seq, app="Other", window=2))
        for c in "zz":
            t, seq = self.stamp()
            self.events.append(KeyDown(t=t, session=SESSION, seq=seq, cls="letter", key=c, char=c))
        t, seq = self.stamp()
        self.events.append(MouseDown(t=t, session=SESSION, seq=seq, x=5, y=5, button=1))
        t, seq = self.stamp()
        back = WindowFocus(t=t, session=SESSION, seq=seq, app="Editor", title="doc", window=1)
        self.events.append(back)

    def goto(self, target: int) -> None:
        way = self.rnd.randrange(4)
        if way == 1:
            self.press("Home", mods=("ctrl",))
            self.caret = 0
        elif way == 2:
            self.press("End", mods=("ctrl",))
            self.caret = len(self.text)
        elif way == 3:
            self.press("Home")
            self.caret = self.text.rfind("\n", 0, self.caret) + 1
        while self.caret < target:
            self.press("Right")
            self.caret += 1
        while self.caret > target:
            self.press("Left")
            self.caret -= 1

    def type_char(self, c: str) -> None:
        if c.isupper():
            self.press("Shift_L")
        self.press("Return" if c == "\n" else c, c, ("shift",) if c.isupper() else (), True)

    def type(self, text: str) -> None:
        for c in text:
            self.type_char(c)
        self.text = self.text[: self.caret] + text + self.text[self.caret :]
        self.caret += len(text)

    def select(self, start: int, end: int) -> None:
        """Select [start, end) with Shift+arrows, from either side."""
        if self.rnd.random() < 0.5:
            self.goto(start)
            for _ in range(end - start):
                self.press("Right", mods=("shift",))
        else:
            self.goto(end)
            for _ in range(end - start):
                self.press("Left", mods=("shift",))

    def delete(self, start: int, end: int) -> None:
        way = self.rnd.randrange(3)
        if way == 0:
            self.goto(end)
            for _ in range(end - start):
                self.press("BackSpace", edits=True)
        elif way == 1:
            self.goto(start)
            for _ in range(end - start):
                self.press("Delete", edits=True)
        else:
            self.select(start, end)
            self.press(self.rnd.choice(["BackSpace", "Delete"]), edits=True)
        self.text, self.caret = self.text[:start] + self.text[end:], start

    def replace(self, start: int, end: int, text: str) -> None:
        if start == 0 and end == len(self.text) and self.rnd.random() < 0.5:
            self.press("a", char="a", mods=("ctrl",))
        else:
            self.select(start, end)
        first, rest = text[0], text[1:]
        self.type_char(first)
        self.text, self.caret = self.text[:start] + first + self.text[end:], start + 1
        self.type(rest)


@st.composite
def edit_scripts(draw: st.DrawFn) -> tuple[Typist, str]:
    """A typist who carried out a random script, and the script's result by plain slicing."""
    typist = Typist(random.Random(draw(st.integers(0, 2**32))))
    focus = WindowFocus(t=1, session=SESSION, seq=1, app="Editor", title="doc", window=1)
    typist.events.append(focus)
    model = ""
    for step in range(draw(st.integers(1, 12))):
        kind = draw(st.sampled_from(["insert", "delete", "replace", "elsewhere"]))
        kind = "insert" if step == 0 else kind
        if kind == "elsewhere":
            typist.elsewhere()
            continue
        if kind != "insert" and not model:
            kind = "insert"
        text = draw(st.text(ALPHABET, min_size=1, max_size=6))
        start = draw(st.integers(0, len(model)))
        if kind == "insert":
            typist.goto(start)
            typist.type(text)
            model = model[:start] + text + model[start:]
            continue
        start = min(start, len(model) - 1)
        end = draw(st.integers(start + 1, len(model)))
        if kind == "delete":
            typist.delete(start, end)
            model = model[:start] + model[end:]
        else:
            typist.replace(start, end, text)
            model = model[:start] + text + model[end:]
        assert typist.text == model  # the typist's bookkeeping is the model's
    return typist, model


def replayed(record: WritingRecord) -> str:
    text = ""
    for op in record.edits:
        assert text[op.pos : op.pos + len(op.deleted)] == op.deleted
        text = text[: op.pos] + op.inserted + text[op.pos + len(op.deleted) :]
    return text


@settings(max_examples=300, deadline=None)
@given(edit_scripts())
def test_rebuilt_text_equals_the_reference_text_model(script: tuple[Typist, str]) -> None:
    typist, model = script
    table = events_to_table(typist.events)
    fast = build_writing(table)
    assert fast.equals(build_writing_reference(table))
    records = {r.window: r for r in table_to_records(fast)}
    doc = records[1]
    assert doc.final_text == model
    assert all(r.final_text.startswith("zz") for w, r in records.items() if w == 2)
    # every text-changing keystroke made exactly one edit; nothing else did
    assert [op.seq for op in doc.edits] == typist.changing
    assert replayed(doc) == model
    assert doc.n_keystrokes == typist.keys
    assert doc.n_unmodelled == doc.n_redacted == doc.n_editor_mismatches == 0
    key_seqs = {op.seq for op in doc.edits if op.op == "insert"}
    assert sum(b.n_keys for b in doc.bursts) == len(key_seqs)


KEY_NAMES = sorted(
    {*PLAIN_ACTIONS, *CTRL_ACTIONS, *UNMODELLED_KEYS, "A", "V", "Return", "Shift_L", "Escape"}
)
CHARS = st.one_of(
    st.none(),
    st.sampled_from(["a", "B", " ", "\n", "\t", "\x08", "", "xy", "\u00a0", "\u200d", "é"]),
)
MODS = st.lists(st.sampled_from(["shift", "ctrl", "alt", "meta", "altgr"]), unique=True, max_size=2)


@st.composite
def streams(draw: st.DrawFn) -> tuple[pa.Table, pa.Table | None, WritingConfig, int]:
    """Any mix of key-downs, focus changes, clicks and mouse moves over two sessions, with
    editor-log entries sometimes, as one or two Arrow chunks in shuffled row order."""
    events: list[Event] = []
    entries: list[EditorEntry] = []
    seqs = {"s1": 0, "s2": 0}
    t = 0
    for _ in range(draw(st.integers(0, 60))):
        session = draw(st.sampled_from(["s1", "s2"]))
        seqs[session] += draw(st.integers(1, 3))
        seq = seqs[session]
        t = max(0, t + draw(st.sampled_from([-5, 30, 200, 900, 2500, 9000])) * 1_000_000)
        what = draw(st.sampled_from(["key"] * 6 + ["focus", "click", "move", "editor"]))
        if what == "focus":
            window = draw(st.integers(0, 2))
            title = draw(st.sampled_from([None, "a", "b"]))
            events.append(
                WindowFocus(t=t, session=session, seq=seq, app="App", title=title, window=window)
            )
        elif what == "click":
            events.append(MouseDown(t=t, session=session, seq=seq, x=0, y=0, button=1))
        elif what == "move":
            events.append(MouseMove(t=t, session=session, seq=seq, x=0, y=0))
        elif what == "editor":
            entries.append(draw(editor_entries(session, seq, t)))
        else:
            key = draw(st.one_of(st.none(), st.sampled_from(KEY_NAMES)))
            cls = draw(st.sampled_from(["letter", "space", "navigation", "editing", "other"]))
            mods = tuple(draw(MODS))
            events.append(
                KeyDown(
                    t=t, session=session, seq=seq, cls=cls, key=key, char=draw(CHARS), mods=mods
                )
            )  # type: ignore[arg-type]
            if draw(st.booleans()) and draw(st.booleans()):
                entries.append(draw(editor_entries(session, seq, t)))
    rows = list(range(len(events)))
    random.Random(draw(st.integers(0, 99))).shuffle(rows)
    shuffled = [events[i] for i in rows]
    cut = draw(st.integers(0, len(shuffled)))
    table = pa.concat_tables([events_to_table(shuffled[:cut]), events_to_table(shuffled[cut:])])
    editor = editor_to_table(entries) if entries or draw(st.booleans()) else None
    config = WritingConfig(
        pause_s=draw(st.sampled_from([0.5, 2.0, 5.0])),
        clipboard=draw(st.booleans()),
        burst_text=draw(st.booleans()),
    )
    return table, editor, config, sum(isinstance(e, KeyDown) for e in events)


@st.composite
def editor_entries(draw: st.DrawFn, session: str, seq: int, t: int) -> EditorEntry:
    small = st.one_of(st.none(), st.integers(-1, 12))
    start = draw(small)
    return EditorEntry(
        session=session, seq=seq, t=t, caret=draw(small), doc_len=draw(small), start=start,
        end=draw(small) if start is not None else None,
        text=draw(st.sampled_from([None, "", "q", "new\ntext"])),
    )  # fmt: skip


@settings(max_examples=500, deadline=None)
@given(streams())
def test_fast_builder_equals_the_reference_on_any_stream(
    stream: tuple[pa.Table, pa.Table | None, WritingConfig, int],
) -> None:
    table, editor, config, n_keys = stream
    fast = build_writing(table, config, editor)
    assert fast.equals(build_writing_reference(table, config, editor))
    records = table_to_records(fast)
    # no keystroke lost or counted twice; each edit is one keystroke's or one entry's
    assert sum(r.n_keystrokes for r in records) == n_keys
    for record in records:
        assert replayed(record) == record.final_text
        assert len({op.seq for op in record.edits}) == len(record.edits)
        assert record.n_revisions == len(record.revisions)
        assert sum(v.n_edits for v in record.revisions) <= len(record.edits)
        assert all(p.duration >= config.pause_ns for p in record.pauses)
        if not config.burst_text:
            assert all(b.text_after is None for b in record.bursts)
    # row order and chunking do not matter
    backwards = pa.array(range(table.num_rows - 1, -1, -1), pa.int64())
    assert fast.equals(build_writing(table.combine_chunks().take(backwards), config, editor))
