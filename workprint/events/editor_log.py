"""Editor-level logs: what an editor itself reported about the text, next to the keystrokes.

Keystrokes alone cannot say where a mouse click put the caret, what a selection covered or what a
paste inserted; loggers inside the editor (ScriptLog/Inputlog's wordlog part, later the browser
bridge) can. An entry shares ``seq`` with the key-down it annotates: ``caret`` is where the caret
was just before that key, ``doc_len`` the text length then, and ``start``/``end``/``text`` (when
``start`` is set) the change the key really made, replacing the cursor model's own reading of
the key. An entry whose ``seq`` matches no key-down is an edit no key caused (autocorrect, a
paste from a menu) and is applied where it falls in the session's sequence.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import msgspec
import pyarrow as pa
import pyarrow.compute as pc

from workprint.events.model import EditorEdit, Event, KeyDown


class EditorEntry(msgspec.Struct, frozen=True, kw_only=True):
    session: str
    seq: int
    t: int
    caret: int | None = None
    doc_len: int | None = None
    start: int | None = None
    end: int | None = None
    text: str | None = None


EDITOR_SCHEMA: Final = pa.schema(
    [
        pa.field("session", pa.string(), nullable=False),
        pa.field("seq", pa.int64(), nullable=False),
        pa.field("t", pa.int64(), nullable=False),
        pa.field("caret", pa.int64()),
        pa.field("doc_len", pa.int64()),
        pa.field("start", pa.int64()),
        pa.field("end", pa.int64()),
        pa.field("text", pa.string()),
    ]
)


def editor_to_table(entries: Sequence[EditorEntry]) -> pa.Table:
    """Structs → a table in ``EDITOR_SCHEMA``."""
    return pa.Table.from_pylist(msgspec.to_builtins(list(entries)), schema=EDITOR_SCHEMA)


def table_to_entries(table: pa.Table) -> list[EditorEntry]:
    return msgspec.convert(table.select(EDITOR_SCHEMA.names).to_pylist(), list[EditorEntry])


def with_editor_events(events: Sequence[Event], entries: Sequence[EditorEntry]) -> list[Event]:
    """One stream holding the events and the editor log as ``EditorEdit`` events, so the log
    travels and is stored like any event (the store keeps events only).

    Seqs are renumbered to keep every one unique: an event's seq ``s`` becomes ``2s`` and an
    entry's ``2s + 1``, right after the key-down it annotates; ``split_editor`` undoes this."""
    keyed = {e.seq for e in events if isinstance(e, KeyDown)}
    out: list[Event] = [msgspec.structs.replace(e, seq=2 * e.seq) for e in events]
    for entry in entries:
        out.append(
            EditorEdit(
                t=entry.t,
                session=entry.session,
                seq=2 * entry.seq + 1,
                ref_seq=2 * entry.seq if entry.seq in keyed else None,
                caret=entry.caret,
                doc_len=entry.doc_len,
                start=entry.start,
                end=entry.end,
                text=entry.text,
            )
        )
    out.sort(key=lambda e: (e.session, e.seq))
    return out


def split_editor(table: pa.Table) -> tuple[pa.Table, pa.Table | None]:
    """An EVENT_SCHEMA table → (its other rows, its ``editor_edit`` rows in ``EDITOR_SCHEMA``,
    keyed by the seq of the key-down each annotates, or their own seq); None without any."""
    if "ref_seq" not in table.column_names:
        return table, None
    kind = pc.cast(table.column("type"), pa.string())
    is_edit = pc.equal(kind, "editor_edit")
    if not pc.any(is_edit).as_py():
        return table, None
    edits = table.filter(is_edit)
    editor = pa.table(
        {
            "session": pc.cast(edits.column("session"), pa.string()),
            "seq": pc.coalesce(edits.column("ref_seq"), edits.column("seq")),
            "t": edits.column("t"),
            "caret": edits.column("caret"),
            "doc_len": edits.column("doc_len"),
            "start": edits.column("start"),
            "end": edits.column("end"),
            "text": edits.column("text"),
        },
        schema=EDITOR_SCHEMA,
    )
    return table.filter(pc.invert(is_edit)), editor
