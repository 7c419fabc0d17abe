"""The reference cursor model: one event at a time, over event structs and a list of characters.

It is deliberately plain — the oracle the fast builder (fast.py) is tested against and the
baseline it is measured against. The rules it implements are documented in docs/writing.md;
change them here first, then in the fast builder, then in the docs.
"""

from __future__ import annotations

import re
from typing import Final, Literal

import pyarrow as pa

from workprint.builders.writing.config import WritingConfig
from workprint.builders.writing.keys import (
    CONTROL_CHARS_PATTERN,
    CTRL_ACTIONS,
    NEWLINE_KEYS,
    PLAIN_ACTIONS,
    TEXT_CLASSES,
    UNMODELLED_KEYS,
)
from workprint.builders.writing.record import (
    Burst,
    EditKind,
    EditOp,
    PauseSpan,
    Revision,
    WritingRecord,
    doc_key,
    records_to_table,
)
from workprint.events import KeyDown, MouseDown, WindowFocus
from workprint.events.columnar import table_to_events
from workprint.events.editor_log import EditorEntry, split_editor, table_to_entries

# What one step did, for segmenting into bursts: produced text only, changed it otherwise, moved
# the caret or selection, did something the model cannot follow, nothing, or was not an action.
Outcome = Literal["produce", "change", "move", "break", "none", "inert"]

CONTROL_CHARS: Final = re.compile(CONTROL_CHARS_PATTERN)


def key_action(event: KeyDown) -> str:
    """What a key-down asks of the text, before looking at the text."""
    mods = event.mods
    if "alt" in mods or "meta" in mods:
        return "inert"
    if "ctrl" in mods:
        if event.key is None and event.char is None:
            return "unmodelled"
        name = event.key if event.key is None or len(event.key) != 1 else event.key.lower()
        return CTRL_ACTIONS.get(name or "", "inert")
    char = event.char
    if char and CONTROL_CHARS.search(char) is None:
        return "char"
    key = event.key
    if key in PLAIN_ACTIONS:
        return PLAIN_ACTIONS[key]
    if key in UNMODELLED_KEYS:
        return "unmodelled"
    if char is None and ((key is None and event.cls in TEXT_CLASSES) or key in NEWLINE_KEYS):
        return "redacted"
    return "inert"


class Doc:
    """One document's text, caret, selection and history."""

    def __init__(self, session: str, window: int, config: WritingConfig) -> None:
        self.session, self.window, self.config = session, window, config
        self.text: list[str] = []
        self.caret = 0
        self.anchor: int | None = None  # the other end of the selection, never == caret
        self.goal: int | None = None  # column kept across Up/Down
        self.edits: list[EditOp] = []
        self.revision_flags: list[bool] = []
        self.bursts: list[Burst] = []
        self.pauses: list[PauseSpan] = []
        self.burst: list[int] | None = None  # t_start, first_seq, t_end, last_seq, n_keys
        self.burst_edits = 0  # len(self.edits) at the open burst's last keystroke
        self.last_key_t: int | None = None
        self.span: list[int] | None = None  # t_start, t_end, first_seq
        self.counts = dict.fromkeys(
            ("keystrokes", "clicks", "unmodelled", "redacted", "mismatches"), 0
        )

    # -- text primitives -------------------------------------------------------------------

    def selection(self) -> tuple[int, int] | None:
        if self.anchor is None:
            return None
        return min(self.anchor, self.caret), max(self.anchor, self.caret)

    def edit(self, t: int, seq: int, start: int, end: int, inserted: str) -> Outcome:
        deleted = "".join(self.text[start:end])
        if not deleted and not inserted:
            return "none"
        at_end = start == len(self.text)
        self.text[start:end] = list(inserted)
        self.caret, self.anchor = start + len(inserted), None
        kind: EditKind = "replace" if deleted and inserted else "delete" if deleted else "insert"
        self.edits.append(EditOp(t, seq, kind, start, deleted, inserted))
        self.revision_flags.append(bool(deleted) or not at_end)
        return "change" if deleted else "produce"

    def move(self, target: int, extend: bool) -> None:
        if extend:
            if self.anchor is None:
                self.anchor = self.caret
        else:
            self.anchor = None
        self.caret = target
        if self.anchor == self.caret:
            self.anchor = None

    def line_start(self, pos: int) -> int:
        while pos > 0 and self.text[pos - 1] != "\n":
            pos -= 1
        return pos

    def line_end(self, pos: int) -> int:
        while pos < len(self.text) and self.text[pos] != "\n":
            pos += 1
        return pos

    def word_left(self, pos: int) -> int:
        while pos > 0 and self.text[pos - 1].isspace():
            pos -= 1
        while pos > 0 and not self.text[pos - 1].isspace():
            pos -= 1
        return pos

    def word_right(self, pos: int) -> int:
        while pos < len(self.text) and self.text[pos].isspace():
            pos += 1
        while pos < len(self.text) and not self.text[pos].isspace():
            pos += 1
        return pos

    def vertical(self, down: bool) -> int:
        start = self.line_start(self.caret)
        if self.goal is None:
            self.goal = self.caret - start
        if not down:
            if start == 0:
                return 0
            above = self.line_start(start - 1)
            return above + min(self.goal, start - 1 - above)
        end = self.line_end(self.caret)
        if end == len(self.text):
            return len(self.text)
        below_end = self.line_end(end + 1)
        return end + 1 + min(self.goal, below_end - end - 1)

    # -- one key ---------------------------------------------------------------------------

    def apply_key(self, event: KeyDown, clipboard: list[str | None]) -> Outcome:
        action = key_action(event)
        if action == "inert":
            return "inert"
        if action == "paste" and (not self.config.clipboard or clipboard[0] is None):
            action = "unmodelled"
        if action in ("unmodelled", "redacted"):
            self.counts["unmodelled" if action == "unmodelled" else "redacted"] += 1
            self.goal = None
            return "break"
        t, seq, shift = event.t, event.seq, "shift" in event.mods
        before = (self.caret, self.anchor)
        sel = self.selection()
        here = sel or (self.caret, self.caret)
        n = len(self.text)
        outcome: Outcome = "none"
        if action in ("char", "paste"):
            inserted = event.char if action == "char" else clipboard[0]
            outcome = self.edit(t, seq, here[0], here[1], inserted or "")
        elif action in ("backspace", "delete", "word_backspace", "word_delete", "cut"):
            if sel is not None:
                if action == "cut":
                    clipboard[0] = "".join(self.text[sel[0] : sel[1]])
                outcome = self.edit(t, seq, sel[0], sel[1], "")
            elif action == "backspace" and self.caret > 0:
                outcome = self.edit(t, seq, self.caret - 1, self.caret, "")
            elif action == "delete" and self.caret < n:
                outcome = self.edit(t, seq, self.caret, self.caret + 1, "")
            elif action == "word_backspace":
                outcome = self.edit(t, seq, self.word_left(self.caret), self.caret, "")
            elif action == "word_delete":
                outcome = self.edit(t, seq, self.caret, self.word_right(self.caret), "")
        elif action == "copy":
            if sel is not None:
                clipboard[0] = "".join(self.text[sel[0] : sel[1]])
        elif action == "left":
            self.move(sel[0] if sel and not shift else max(0, self.caret - 1), shift)
        elif action == "right":
            self.move(sel[1] if sel and not shift else min(n, self.caret + 1), shift)
        elif action in ("up", "down"):
            self.move(self.vertical(action == "down"), shift)
        elif action == "home":
            self.move(self.line_start(self.caret), shift)
        elif action == "end":
            self.move(self.line_end(self.caret), shift)
        elif action == "word_left":
            self.move(self.word_left(self.caret), shift)
        elif action == "word_right":
            self.move(self.word_right(self.caret), shift)
        elif action == "doc_start":
            self.move(0, shift)
        elif action == "doc_end":
            self.move(n, shift)
        elif action == "select_all":
            self.anchor, self.caret = None, 0
            self.move(n, True)
        if action not in ("up", "down"):
            self.goal = None
        if outcome == "none" and (self.caret, self.anchor) != before:
            outcome = "move"
        return outcome

    # -- editor-log entries ----------------------------------------------------------------

    def clamp(self, pos: int, low: int) -> int:
        if not low <= pos <= len(self.text):
            self.counts["mismatches"] += 1
            return min(max(pos, low), len(self.text))
        return pos

    def check_length(self, entry: EditorEntry) -> None:
        if entry.doc_len is not None and entry.doc_len != len(self.text):
            self.counts["mismatches"] += 1

    def jump(self, caret: int) -> Outcome:
        target = self.clamp(caret, 0)
        if target == self.caret:
            return "none"
        self.caret, self.anchor, self.goal = target, None, None
        return "move"

    def replace(self, t: int, seq: int, entry: EditorEntry) -> Outcome:
        assert entry.start is not None
        start = self.clamp(entry.start, 0)
        end = self.clamp(entry.end if entry.end is not None else start, start)
        self.goal = None
        return self.edit(t, seq, start, end, entry.text or "")

    # -- segmentation ----------------------------------------------------------------------

    def touch(self, t: int, seq: int) -> None:
        if self.span is None:
            self.span = [t, t, seq]
        self.span[1] = t

    def close(self, kind: Literal["P", "R"]) -> None:
        """End the open burst. The step that ends it may already have edited the text, so the
        text after the burst is the current one with the edits made since undone."""
        if self.burst is None:
            return
        t0, s0, t1, s1, n = self.burst
        text = None
        if self.config.burst_text:
            chars = list(self.text)
            for op in reversed(self.edits[self.burst_edits :]):
                chars[op.pos : op.pos + len(op.inserted)] = list(op.deleted)
            text = "".join(chars)
        self.bursts.append(Burst(kind, t0, t1, s0, s1, n, text))
        self.burst = None

    def segment(self, t: int, seq: int, outcome: Outcome) -> None:
        if outcome == "produce":
            if self.burst is None:
                self.burst = [t, seq, t, seq, 0]
            self.burst[2:] = [t, seq, self.burst[4] + 1]
            self.burst_edits = len(self.edits)
        elif outcome in ("change", "move", "break"):
            self.close("R")

    def key(self, event: KeyDown, note: EditorEntry | None, clipboard: list[str | None]) -> None:
        t, seq = event.t, event.seq
        self.counts["keystrokes"] += 1
        self.touch(t, seq)
        if self.last_key_t is not None and t - self.last_key_t >= self.config.pause_ns:
            self.pauses.append(PauseSpan(t, t - self.last_key_t, seq, self.caret))
            self.close("P")
        self.last_key_t = t
        if note is not None:
            self.check_length(note)
            if note.caret is not None:
                self.segment(t, seq, self.jump(note.caret))
        if note is not None and note.start is not None:
            self.segment(t, seq, self.replace(t, seq, note))
        else:
            self.segment(t, seq, self.apply_key(event, clipboard))

    def click(self) -> None:
        self.counts["clicks"] += 1
        self.goal = None
        self.close("R")

    def standalone(self, entry: EditorEntry) -> None:
        self.touch(entry.t, entry.seq)
        self.check_length(entry)
        moved = self.jump(entry.caret) if entry.caret is not None else "none"
        edited = self.replace(entry.t, entry.seq, entry) if entry.start is not None else "none"
        if moved != "none" or edited != "none":
            self.close("R")

    def record(self, meta: tuple[str, str | None] | None) -> WritingRecord:
        self.close("P")
        assert self.span is not None
        revisions: list[Revision] = []
        for index, (op, flag) in enumerate(zip(self.edits, self.revision_flags, strict=True)):
            if not flag:
                continue
            if revisions and revisions[-1].first_edit + revisions[-1].n_edits == index:
                last = revisions[-1]
                revisions[-1] = Revision(
                    last.t_start,
                    op.t,
                    last.first_edit,
                    last.n_edits + 1,
                    last.pos,
                    last.n_deleted + len(op.deleted),
                    last.n_inserted + len(op.inserted),
                )
            else:
                revisions.append(
                    Revision(op.t, op.t, index, 1, op.pos, len(op.deleted), len(op.inserted))
                )
        return WritingRecord(
            doc=doc_key(self.session, self.window),
            session=self.session,
            window=self.window,
            app=meta[0] if meta else None,
            title=meta[1] if meta else None,
            t_start=self.span[0],
            t_end=self.span[1],
            n_keystrokes=self.counts["keystrokes"],
            n_clicks=self.counts["clicks"],
            n_unmodelled=self.counts["unmodelled"],
            n_redacted=self.counts["redacted"],
            n_editor_mismatches=self.counts["mismatches"],
            n_revisions=len(revisions),
            pause_threshold=self.config.pause_ns,
            edits=self.edits,
            bursts=self.bursts,
            pauses=self.pauses,
            revisions=revisions,
            final_text="".join(self.text),
        )


Item = KeyDown | WindowFocus | MouseDown | EditorEntry


def build_records(
    items: list[KeyDown | WindowFocus | MouseDown],
    entries: list[EditorEntry],
    config: WritingConfig,
) -> list[WritingRecord]:
    """Replay each session's items in ``seq`` order (an editor entry after the event it shares a
    ``seq`` with) and return one record per document that saw a key or an editor entry."""
    key_seqs = {(e.session, e.seq) for e in items if isinstance(e, KeyDown)}
    notes: dict[tuple[str, int], EditorEntry] = {}
    sessions: dict[str, list[tuple[int, int, Item]]] = {}
    for event in items:
        sessions.setdefault(event.session, []).append((event.seq, 0, event))
    for entry in entries:
        where = (entry.session, entry.seq)
        if where in key_seqs and where not in notes:
            notes[where] = entry
        else:
            sessions.setdefault(entry.session, []).append((entry.seq, 1, entry))
    records: list[WritingRecord] = []
    for session in sorted(sessions):
        window = 0
        meta: dict[int, tuple[str, str | None]] = {}
        docs: dict[int, Doc] = {}
        clipboard: list[str | None] = [None]
        for _, _, item in sorted(sessions[session], key=lambda x: (x[0], x[1])):
            if isinstance(item, WindowFocus):
                window = item.window
                meta.setdefault(window, (item.app, item.title))
                continue
            doc = docs.get(window) or docs.setdefault(window, Doc(session, window, config))
            if isinstance(item, KeyDown):
                doc.key(item, notes.get((session, item.seq)), clipboard)
            elif isinstance(item, MouseDown):
                doc.click()
            else:
                doc.standalone(item)
        used = [(doc.span[2], doc) for doc in docs.values() if doc.span is not None]
        used.sort(key=lambda pair: pair[0])
        records.extend(doc.record(meta.get(doc.window)) for _, doc in used)
    return records


def build_writing_reference(
    table: pa.Table, config: WritingConfig | None = None, editor: pa.Table | None = None
) -> pa.Table:
    """Events (and optionally an editor log) → one writing record per document, per event."""
    config = config or WritingConfig()
    if editor is None:  # an editor log stored as editor_edit events travels in the table
        table, editor = split_editor(table)
    events = table_to_events(table)
    items = [e for e in events if isinstance(e, KeyDown | WindowFocus | MouseDown)]
    entries = table_to_entries(editor) if editor is not None else []
    return records_to_table(build_records(items, entries, config))
