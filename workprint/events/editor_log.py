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
