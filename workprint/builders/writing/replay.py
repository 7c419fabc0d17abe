"""The fast builder's replay loop: the cursor model of reference.py over ``str`` text, driven by
segments — a run of plain typed characters is one string splice, anything else one step.

Inputs arrive as plain Python lists prepared by fast.py with vectorised code, so this loop sees
only the rows that can change something (keys that act, clicks, editor entries, pause carriers).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import accumulate
from typing import Final, cast

# Action codes (fast.py maps keys to them; names follow keys.py).
(
    INERT,
    CHAR,
    BACKSPACE,
    DELETE,
    LEFT,
    RIGHT,
    UP,
    DOWN,
    HOME,
    END,
    SELECT_ALL,
    COPY,
    CUT,
    PASTE,
    WORD_BACKSPACE,
    WORD_DELETE,
    WORD_LEFT,
    WORD_RIGHT,
    DOC_START,
    DOC_END,
    UNMODELLED,
    REDACTED,
) = range(22)
ACTION_CODES: Final = {
    "inert": INERT,
    "backspace": BACKSPACE,
    "delete": DELETE,
    "left": LEFT,
    "right": RIGHT,
    "up": UP,
    "down": DOWN,
    "home": HOME,
    "end": END,
    "select_all": SELECT_ALL,
    "copy": COPY,
    "cut": CUT,
    "paste": PASTE,
    "word_backspace": WORD_BACKSPACE,
    "word_delete": WORD_DELETE,
    "word_left": WORD_LEFT,
    "word_right": WORD_RIGHT,
    "doc_start": DOC_START,
    "doc_end": DOC_END,
    "unmodelled": UNMODELLED,
}
# Item kinds and step outcomes.
FOCUS, KEY, CLICK, EDITOR = range(4)
NONE, PRODUCE, CHANGE, MOVE, BREAK = range(5)
INSERT_OP, DELETE_OP, REPLACE_OP = range(3)

Note = tuple[int | None, int | None, int | None, int | None, str | None]  # caret, len, s, e, text


class FastDoc:
    """One document's state and history, kept as flat lists for columnar output."""

    __slots__ = (
        "anchor",
        "burst",
        "burst_text",
        "bursts",
        "caret",
        "clicks",
        "goal",
        "keep_text",
        "mismatches",
        "op_del",
        "op_ins",
        "op_kind",
        "op_pos",
        "op_rev",
        "op_seq",
        "op_t",
        "pauses",
        "redacted",
        "text",
        "unmodelled",
    )

    def __init__(self, keep_text: bool) -> None:
        self.text = ""
        self.caret = 0
        self.anchor: int | None = None
        self.goal: int | None = None
        self.burst: list[int] | None = None
        self.burst_text = ""  # the text after the open burst's last keystroke
        self.bursts: list[tuple[str, int, int, int, int, int, str | None]] = []
        self.pauses: list[tuple[int, int, int, int]] = []
        self.op_t: list[int] = []
        self.op_seq: list[int] = []
        self.op_kind: list[int] = []
        self.op_pos: list[int] = []
        self.op_del: list[str] = []
        self.op_ins: list[str] = []
        self.op_rev: list[bool] = []
        self.clicks = self.unmodelled = self.redacted = self.mismatches = 0
        self.keep_text = keep_text

    # -- text primitives -------------------------------------------------------------------

    def edit(self, t: int, seq: int, start: int, end: int, inserted: str) -> int:
        text = self.text
        deleted = text[start:end]
        if not deleted and not inserted:
            return NONE
        self.op_rev.append(bool(deleted) or start != len(text))
        self.text = text[:start] + inserted + text[end:]
        self.caret, self.anchor = start + len(inserted), None
        self.op_t.append(t)
        self.op_seq.append(seq)
        self.op_kind.append(
            REPLACE_OP if deleted and inserted else DELETE_OP if deleted else INSERT_OP
        )
        self.op_pos.append(start)
        self.op_del.append(deleted)
        self.op_ins.append(inserted)
        return CHANGE if deleted else PRODUCE

    def type_run(self, ts: Sequence[int], seqs: Sequence[int], chars: list[str]) -> None:
        """Insert a run of typed characters at the caret (no selection) as one splice."""
        count, inserted, caret, text = len(chars), "".join(chars), self.caret, self.text
        self.op_rev.extend([caret != len(text)] * count)
        self.text = text[:caret] + inserted + text[caret:] if caret < len(text) else text + inserted
        self.op_t.extend(ts)
        self.op_seq.extend(seqs)
        self.op_kind.extend([INSERT_OP] * count)
        if len(inserted) == count:
            self.op_pos.extend(range(caret, caret + count))
        else:
            self.op_pos.extend(accumulate((len(c) for c in chars[:-1]), initial=caret))
        self.op_del.extend([""] * count)
        self.op_ins.extend(chars)
        self.caret = caret + len(inserted)
        self.goal = None
        if self.burst is None:
            self.burst = [ts[0], seqs[0], 0, 0, 0]
        burst = self.burst
        burst[2], burst[3], burst[4] = ts[-1], seqs[-1], burst[4] + count
        self.burst_text = self.text

    def move(self, target: int, extend: bool) -> None:
        if not extend:
            self.anchor = None
        elif self.anchor is None:
            self.anchor = self.caret
        self.caret = target
        if self.anchor == target:
            self.anchor = None

    def line_start(self, pos: int) -> int:
        return self.text.rfind("\n", 0, pos) + 1

    def line_end(self, pos: int) -> int:
        end = self.text.find("\n", pos)
        return len(self.text) if end < 0 else end

    def word_left(self, pos: int) -> int:
        text = self.text
        while pos > 0 and text[pos - 1].isspace():
            pos -= 1
        while pos > 0 and not text[pos - 1].isspace():
            pos -= 1
        return pos

    def word_right(self, pos: int) -> int:
        text, end = self.text, len(self.text)
        while pos < end and text[pos].isspace():
            pos += 1
        while pos < end and not text[pos].isspace():
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
            return end
        return end + 1 + min(self.goal, self.line_end(end + 1) - end - 1)

    # -- one key ---------------------------------------------------------------------------

    def apply_key(
        self, action: int, shift: bool, t: int, seq: int, char: str | None, clip: list[str | None]
    ) -> int:
        if action == PASTE and clip[0] is None:
            action = UNMODELLED
        if action in (UNMODELLED, REDACTED):
            if action == UNMODELLED:
                self.unmodelled += 1
            else:
                self.redacted += 1
            self.goal = None
            return BREAK
        before_caret, before_anchor = self.caret, self.anchor
        anchor, caret, size = self.anchor, self.caret, len(self.text)
        sel = None if anchor is None else (min(anchor, caret), max(anchor, caret))
        outcome = NONE
        if action in (CHAR, PASTE):
            start, end = sel or (caret, caret)
            outcome = self.edit(t, seq, start, end, (char if action == CHAR else clip[0]) or "")
        elif action in (BACKSPACE, DELETE, WORD_BACKSPACE, WORD_DELETE, CUT):
            if sel is not None:
                if action == CUT:
                    clip[0] = self.text[sel[0] : sel[1]]
                outcome = self.edit(t, seq, sel[0], sel[1], "")
            elif action == BACKSPACE and caret > 0:
                outcome = self.edit(t, seq, caret - 1, caret, "")
            elif action == DELETE and caret < size:
                outcome = self.edit(t, seq, caret, caret + 1, "")
            elif action == WORD_BACKSPACE:
                outcome = self.edit(t, seq, self.word_left(caret), caret, "")
            elif action == WORD_DELETE:
                outcome = self.edit(t, seq, caret, self.word_right(caret), "")
        elif action == COPY:
            if sel is not None:
                clip[0] = self.text[sel[0] : sel[1]]
        elif action == LEFT:
            self.move(sel[0] if sel and not shift else max(0, caret - 1), shift)
        elif action == RIGHT:
            self.move(sel[1] if sel and not shift else min(size, caret + 1), shift)
        elif action in (UP, DOWN):
            self.move(self.vertical(action == DOWN), shift)
        elif action == HOME:
            self.move(self.line_start(caret), shift)
        elif action == END:
            self.move(self.line_end(caret), shift)
        elif action == WORD_LEFT:
            self.move(self.word_left(caret), shift)
        elif action == WORD_RIGHT:
            self.move(self.word_right(caret), shift)
        elif action == DOC_START:
            self.move(0, shift)
        elif action == DOC_END:
            self.move(size, shift)
        elif action == SELECT_ALL:
            self.anchor, self.caret = None, 0
            self.move(size, True)
        if action != UP and action != DOWN:
            self.goal = None
        if outcome == NONE and (self.caret != before_caret or self.anchor != before_anchor):
            return MOVE
        return outcome

    # -- editor-log entries ----------------------------------------------------------------

    def clamp(self, pos: int, low: int) -> int:
        if not low <= pos <= len(self.text):
            self.mismatches += 1
            return min(max(pos, low), len(self.text))
        return pos

    def jump(self, caret: int) -> int:
        target = self.clamp(caret, 0)
        if target == self.caret:
            return NONE
        self.caret, self.anchor, self.goal = target, None, None
        return MOVE

    def replace(self, t: int, seq: int, note: Note) -> int:
        start = self.clamp(note[2] or 0, 0)
        end = self.clamp(note[3] if note[3] is not None else start, start)
        self.goal = None
        return self.edit(t, seq, start, end, note[4] or "")

    # -- segmentation ----------------------------------------------------------------------

    def close(self, kind: str) -> None:
        burst = self.burst
        if burst is not None:
            text = self.burst_text if self.keep_text else None
            self.bursts.append((kind, burst[0], burst[2], burst[1], burst[3], burst[4], text))
            self.burst = None

    def segment(self, t: int, seq: int, outcome: int) -> None:
        if outcome == PRODUCE:
            if self.burst is None:
                self.burst = [t, seq, t, seq, 0]
            burst = self.burst
            burst[2], burst[3], burst[4] = t, seq, burst[4] + 1
            self.burst_text = self.text
        elif outcome != NONE:
            self.close("R")

    def pause(self, t: int, duration: int, seq: int) -> None:
        self.pauses.append((t, duration, seq, self.caret))
        self.close("P")

    def key(
        self,
        item: tuple[int, bool, int, int, str | None],
        pause: int,
        note: Note | None,
        clip: list[str | None],
    ) -> None:
        action, shift, t, seq, char = item
        if pause >= 0:
            self.pause(t, pause, seq)
        if note is not None:
            if note[1] is not None and note[1] != len(self.text):
                self.mismatches += 1
            if note[0] is not None:
                self.segment(t, seq, self.jump(note[0]))
            if note[2] is not None:
                self.segment(t, seq, self.replace(t, seq, note))
                return
        if action != INERT:
            self.segment(t, seq, self.apply_key(action, shift, t, seq, char, clip))

    def click(self) -> None:
        self.clicks += 1
        self.goal = None
        self.close("R")

    def standalone(self, t: int, seq: int, note: Note) -> None:
        if note[1] is not None and note[1] != len(self.text):
            self.mismatches += 1
        moved = self.jump(note[0]) if note[0] is not None else NONE
        edited = self.replace(t, seq, note) if note[2] is not None else NONE
        if moved != NONE or edited != NONE:
            self.close("R")


class Items:
    """The rows the loop visits, in replay order, as Python lists (one per column)."""

    __slots__ = ("action", "char", "doc", "kind", "note", "pause", "seq", "shift", "t")

    def __init__(
        self,
        doc: list[int],
        kind: list[int],
        action: list[int],
        shift: list[bool],
        t: list[int],
        seq: list[int],
        char: list[str | None],
        pause: list[int],
        note: list[int],
    ) -> None:
        self.doc, self.kind, self.action, self.shift = doc, kind, action, shift
        self.t, self.seq, self.char, self.pause, self.note = t, seq, char, pause, note


def replay(
    docs: list[FastDoc],
    doc_session: list[int],
    items: Items,
    notes: list[Note],
    segments: Sequence[tuple[int, int, bool]],
) -> None:
    """Run every segment ``(start, end, is_run)`` through its document, in order. A run is a
    stretch of plain typed characters in one document with no pause after its first key."""
    doc_of, kind, action, shift = items.doc, items.kind, items.action, items.shift
    t, seq, char, pause, note = items.t, items.seq, items.char, items.pause, items.note
    session = -1
    clip: list[str | None] = [None]
    for start, end, is_run in segments:
        doc = docs[doc_of[start]]
        if doc_session[doc_of[start]] != session:
            session, clip = doc_session[doc_of[start]], [None]
        if is_run:
            if pause[start] >= 0:
                doc.pause(t[start], pause[start], seq[start])
            if doc.anchor is not None:
                doc.key((CHAR, shift[start], t[start], seq[start], char[start]), -1, None, clip)
                start += 1
            if start < end:
                typed = cast("list[str]", char[start:end])  # a run holds only typed characters
                doc.type_run(t[start:end], seq[start:end], typed)
            continue
        what = kind[start]
        if what == KEY:
            entry = notes[note[start]] if note[start] >= 0 else None
            item = (action[start], shift[start], t[start], seq[start], char[start])
            doc.key(item, pause[start], entry, clip)
        elif what == CLICK:
            doc.click()
        else:
            doc.standalone(t[start], seq[start], notes[note[start]])
    for doc in docs:
        doc.close("P")  # the writer's activity in the document ended
