"""The fast writing builder: vectorised selection and classification, then a replay loop over
only the rows that can change a text, with runs of typing spliced in one step.

The raw stream is ~90% mouse. Everything that touches every row (picking key-downs, focus changes
and clicks; session/document assignment; key classification; pauses) is Arrow/NumPy; Python sees
a few percent of the rows. Output equals reference.py's exactly (tests/test_writing_*.py).
"""

from __future__ import annotations

import itertools
from typing import Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from workprint.builders.writing.assemble import assemble
from workprint.builders.writing.config import WritingConfig
from workprint.builders.writing.keys import (
    CONTROL_CHARS_PATTERN,
    CTRL_ACTIONS,
    NEWLINE_KEYS,
    PLAIN_ACTIONS,
    TEXT_CLASSES,
    UNMODELLED_KEYS,
)
from workprint.builders.writing.replay import (
    ACTION_CODES,
    CHAR,
    CLICK,
    EDITOR,
    FOCUS,
    INERT,
    KEY,
    PASTE,
    REDACTED,
    UNMODELLED,
    FastDoc,
    Items,
    Note,
    replay,
)
from workprint.events.editor_log import split_editor

I64 = npt.NDArray[np.int64]
_WANTED: Final = {"key_down": KEY, "window_focus": FOCUS, "mouse_down": CLICK}
_COLUMNS: Final = (
    "type", "t", "session", "seq", "cls", "key", "char", "mods", "window", "app", "title"
)  # fmt: skip
_NAMES: Final = sorted(set(PLAIN_ACTIONS) | set(CTRL_ACTIONS) | UNMODELLED_KEYS | NEWLINE_KEYS)
_NAME_SET: Final = pa.array(
    _NAMES + [n.upper() for n in CTRL_ACTIONS if len(n) == 1], type=pa.string()
)


def _key_tables() -> tuple[npt.NDArray[np.int8], npt.NDArray[np.int8], npt.NDArray[np.bool_]]:
    """Per name in ``_NAME_SET`` (last slot: not found): plain action, Ctrl action, newline."""
    names = _NAME_SET.to_pylist()
    plain = [
        UNMODELLED if n in UNMODELLED_KEYS else ACTION_CODES[PLAIN_ACTIONS.get(n, "inert")]
        for n in names
    ]
    ctrl = [ACTION_CODES[CTRL_ACTIONS.get(n if len(n) > 1 else n.lower(), "inert")] for n in names]
    newline = [n in NEWLINE_KEYS for n in names]
    return (
        np.array([*plain, INERT], np.int8),
        np.array([*ctrl, INERT], np.int8),
        np.array([*newline, False], np.bool_),
    )


_PLAIN, _CTRL, _NEWLINE = _key_tables()


def _kinds(column: pa.ChunkedArray) -> npt.NDArray[np.int8]:
    """Item kind per row from the dictionary-encoded ``type`` column (-1: not needed)."""
    parts = []
    for chunk in column.chunks:
        if not pa.types.is_dictionary(chunk.type):
            chunk = chunk.dictionary_encode()
        lookup = np.array([_WANTED.get(v, -1) for v in chunk.dictionary.to_pylist()] + [-1])
        indices = chunk.indices.fill_null(len(lookup) - 1).to_numpy(zero_copy_only=False)
        parts.append(lookup[indices].astype(np.int8))
    return np.concatenate(parts) if parts else np.zeros(0, np.int8)


def _has(mods: pa.Array, name: str) -> npt.NDArray[np.bool_]:
    parents = pc.list_parent_indices(mods).to_numpy()
    flat = pc.equal(pc.list_flatten(mods), name).fill_null(False).to_numpy(zero_copy_only=False)
    return np.bincount(parents[flat], minlength=len(mods)) > 0


def _actions(rows: pa.Table, clipboard: bool) -> tuple[npt.NDArray[np.int8], npt.NDArray[np.bool_]]:
    """The cursor-model action of every key row (keys.py rules), and its Shift flag."""
    mods = rows.column("mods").combine_chunks()
    key, char = rows.column("key").combine_chunks(), rows.column("char").combine_chunks()
    shift, ctrl = _has(mods, "shift"), _has(mods, "ctrl")
    other = _has(mods, "alt") | _has(mods, "meta")
    slot = pc.index_in(key, value_set=_NAME_SET).fill_null(len(_NAME_SET)).to_numpy()
    key_null = key.is_null().to_numpy(zero_copy_only=False)
    char_null = char.is_null().to_numpy(zero_copy_only=False)
    typed = ~char_null & (pc.utf8_length(char).fill_null(0).to_numpy() > 0)
    control = pc.match_substring_regex(char, CONTROL_CHARS_PATTERN).fill_null(True)
    typed &= ~control.to_numpy(zero_copy_only=False)
    cls = pc.cast(rows.column("cls").combine_chunks(), pa.string())
    text_cls = pc.is_in(cls, value_set=pa.array(sorted(TEXT_CLASSES))).fill_null(False)
    redacted = char_null & ((key_null & text_cls.to_numpy(zero_copy_only=False)) | _NEWLINE[slot])
    plain = np.where(
        typed, CHAR, np.where(redacted & (_PLAIN[slot] == INERT), REDACTED, _PLAIN[slot])
    )
    with_ctrl = np.where(key_null & char_null, UNMODELLED, _CTRL[slot])
    action = np.where(other, INERT, np.where(ctrl, with_ctrl, plain)).astype(np.int8)
    if not clipboard:
        action[action == PASTE] = UNMODELLED
    return action, shift


def _ranked_sessions(*columns: pa.Array) -> tuple[list[I64], list[str]]:
    """Session codes numbered in name order (the order records come out in)."""
    strings = [pc.cast(c, pa.string()) for c in columns]
    encoded = pc.dictionary_encode(pa.chunked_array(strings, pa.string())).combine_chunks()
    names = encoded.dictionary.to_pylist()
    order = sorted(range(len(names)), key=names.__getitem__)
    rank = np.empty(len(names), np.int64)
    rank[order] = np.arange(len(names))
    codes = rank[encoded.indices.to_numpy(zero_copy_only=False)]
    bounds = np.cumsum([0, *(len(c) for c in columns)])
    return [codes[a:b] for a, b in itertools.pairwise(bounds)], sorted(names)


def _notes(
    editor: pa.Table, entry_sess: I64, key_sess: I64, key_seq: I64
) -> tuple[list[Note], I64, list[int]]:
    """Editor entries → notes, the note of each key row (-1: none) and standalone entries."""
    rows = editor.select(["seq", "caret", "doc_len", "start", "end", "text"]).to_pydict()
    notes: list[Note] = list(
        zip(rows["caret"], rows["doc_len"], rows["start"], rows["end"], rows["text"], strict=True)
    )
    keys = set(zip(key_sess.tolist(), key_seq.tolist(), strict=True))
    attached: dict[tuple[int, int], int] = {}
    standalone: list[int] = []
    for index, where in enumerate(zip(entry_sess.tolist(), rows["seq"], strict=True)):
        if where in keys and where not in attached:
            attached[where] = index
        else:
            standalone.append(index)
    pairs = zip(key_sess.tolist(), key_seq.tolist(), strict=True)
    of_key = np.array([attached.get(p, -1) for p in pairs], np.int64)
    return notes, of_key, standalone


class _Items:
    """The picked rows (and standalone editor entries) in replay order: by session name, then
    ``seq``, an editor entry after the event it shares a ``seq`` with."""

    def __init__(self, table: pa.Table, config: WritingConfig, editor: pa.Table | None) -> None:
        source = table.select(list(_COLUMNS))
        all_kinds = _kinds(source.column("type"))
        picked = np.flatnonzero(all_kinds >= 0)
        self.rows = rows = source.take(pa.array(picked))
        kind = all_kinds[picked]
        action, shift = _actions(rows, config.clipboard)
        t, seq = rows.column("t").to_numpy(), rows.column("seq").to_numpy()
        window = rows.column("window").fill_null(0).to_numpy()
        src = np.arange(len(kind), dtype=np.int64)
        columns = [rows.column("session").combine_chunks()]
        if editor is not None:
            columns.append(editor.column("session").combine_chunks())
        codes, self.sessions = _ranked_sessions(*columns)
        sess = codes[0]
        note = np.full(len(kind), -1, np.int64)
        self.notes: list[Note] = []
        if editor is not None:
            is_key = kind == KEY
            self.notes, note[is_key], alone = _notes(editor, codes[1], sess[is_key], seq[is_key])
            extra = np.array(alone, np.int64)
            size = len(extra)
            kind = np.concatenate([kind, np.full(size, EDITOR, np.int8)])
            action = np.concatenate([action, np.full(size, INERT, np.int8)])
            shift = np.concatenate([shift, np.zeros(size, np.bool_)])
            t = np.concatenate([t, editor.column("t").to_numpy()[extra]])
            seq = np.concatenate([seq, editor.column("seq").to_numpy()[extra]])
            window = np.concatenate([window, np.zeros(size, np.int64)])
            sess = np.concatenate([sess, codes[1][extra]])
            note = np.concatenate([note, extra])
            src = np.concatenate([src, np.full(size, -1, np.int64)])
        order = np.lexsort((kind == EDITOR, seq, sess))
        self.kind, self.action, self.shift = kind[order], action[order], shift[order]
        self.t, self.seq, self.sess = t[order], seq[order], sess[order]
        self.window, self.note, self.src = window[order], note[order], src[order]

    def windows(self) -> I64:
        """The focused window at every item: the last WindowFocus before it in its session."""
        size = len(self.kind)
        change = np.ones(size, np.bool_)
        change[1:] = self.sess[1:] != self.sess[:-1]
        session_start = np.flatnonzero(change)[np.cumsum(change) - 1]
        last = np.maximum.accumulate(np.where(self.kind == FOCUS, np.arange(size), -1))
        return np.where(last >= session_start, self.window[np.maximum(last, 0)], 0)

    def column(self, name: str, at: I64) -> list[str | None]:
        """Values of a picked-row column at item positions (null for editor entries and for
        positions < 0)."""
        src = np.where(at >= 0, self.src[at], -1)
        values: list[str | None] = (
            self.rows.column(name).take(pa.array(src, mask=src < 0)).to_pylist()
        )
        return values


def _pauses(items: _Items, doc: I64, threshold: int) -> I64:
    """Per item: the pause (ns) before it if it is a key ending an inter-key interval of at
    least ``threshold`` within its document, else -1."""
    keys = np.flatnonzero(items.kind == KEY)
    keys = keys[np.argsort(doc[keys], kind="stable")]
    gap = np.diff(items.t[keys])
    found = (doc[keys][1:] == doc[keys][:-1]) & (gap >= threshold)
    pause = np.full(len(items.kind), -1, np.int64)
    pause[keys[1:][found]] = gap[found]
    return pause


def build_writing(
    table: pa.Table, config: WritingConfig | None = None, editor: pa.Table | None = None
) -> pa.Table:
    """Events in ``EVENT_SCHEMA`` (and optionally an editor log in ``EDITOR_SCHEMA``) → one
    writing record per document, as a table in ``WRITING_SCHEMA``."""
    config = config or WritingConfig()
    if editor is None:  # an editor log stored as editor_edit events travels in the table
        table, editor = split_editor(table)
    items = _Items(table, config, editor)
    kind, action, note = items.kind, items.action, items.note
    window = items.windows()
    doc_keys, doc = np.unique((items.sess << 32) | window, return_inverse=True)
    doc = doc.reshape(-1)
    pause = _pauses(items, doc, config.pause_ns)
    acts = (kind == KEY) & ((action != INERT) | (note >= 0) | (pause >= 0))
    at = np.flatnonzero(acts | (kind == CLICK) | (kind == EDITOR))
    run = (kind[at] == KEY) & (action[at] == CHAR) & (note[at] < 0)
    doc_at, pause_at = doc[at], pause[at]
    joins = run[1:] & run[:-1] & (doc_at[1:] == doc_at[:-1]) & (pause_at[1:] < 0)
    starts = np.flatnonzero(np.concatenate([[True], ~joins]))[: len(at)]
    ends = np.append(starts[1:], len(at))[: len(starts)]
    loop = Items(
        doc_at.tolist(), kind[at].tolist(), action[at].tolist(), items.shift[at].tolist(),
        items.t[at].tolist(), items.seq[at].tolist(), items.column("char", at),
        pause_at.tolist(), note[at].tolist(),
    )  # fmt: skip
    docs = [FastDoc(config.burst_text) for _ in range(len(doc_keys))]
    segments = zip(starts.tolist(), ends.tolist(), run[starts].tolist(), strict=True)
    replay(docs, (doc_keys >> 32).tolist(), loop, items.notes, list(segments))
    return assemble(items, doc, doc_keys, docs, config)
