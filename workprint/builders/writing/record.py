"""The writing-process record: one row per document (session × focused window), with its edit
history, bursts, pauses and revisions. Defined once as msgspec structs (the readable form, used by
the reference builder and tests) and once as an Arrow schema (the form datasets are written in);
``records_to_table``/``table_to_records`` convert exactly between the two."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final, Literal

import msgspec
import pyarrow as pa

EditKind = Literal["insert", "delete", "replace"]
BurstKind = Literal["P", "R"]


class EditOp(msgspec.Struct, frozen=True):
    """One change of the text, caused by one keystroke (or one editor-log entry): ``deleted``
    was removed at ``pos`` and ``inserted`` put there instead."""

    t: int
    seq: int
    op: EditKind
    pos: int
    deleted: str
    inserted: str


class Burst(msgspec.Struct, frozen=True):
    """A run of text-producing keystrokes without a pause; "P" if a pause (or the end of the
    writer's activity in the document) ended it, "R" if a revision or caret move did."""

    kind: BurstKind
    t_start: int
    t_end: int
    first_seq: int
    last_seq: int
    n_keys: int
    text_after: str | None


class PauseSpan(msgspec.Struct, frozen=True):
    """An inter-key interval of at least the threshold, ending at the key ``seq`` at ``t``, with
    the caret at ``pos`` when the writer resumed."""

    t: int
    duration: int
    seq: int
    pos: int


class Revision(msgspec.Struct, frozen=True):
    """A maximal run of consecutive edits that delete something or insert away from the end
    of the text: ``edits[first_edit : first_edit + n_edits]``."""

    t_start: int
    t_end: int
    first_edit: int
    n_edits: int
    pos: int
    n_deleted: int
    n_inserted: int


class WritingRecord(msgspec.Struct, frozen=True, kw_only=True):
    doc: str
    session: str
    window: int
    app: str | None
    title: str | None
    t_start: int
    t_end: int
    n_keystrokes: int
    n_clicks: int
    n_unmodelled: int
    n_redacted: int
    n_editor_mismatches: int
    n_revisions: int
    pause_threshold: int
    edits: list[EditOp]
    bursts: list[Burst]
    pauses: list[PauseSpan]
    revisions: list[Revision]
    final_text: str


EDIT_TYPE: Final = pa.struct(
    [
        ("t", pa.int64()),
        ("seq", pa.int64()),
        ("op", pa.string()),
        ("pos", pa.int64()),
        ("deleted", pa.string()),
        ("inserted", pa.string()),
    ]
)
BURST_TYPE: Final = pa.struct(
    [
        ("kind", pa.string()),
        ("t_start", pa.int64()),
        ("t_end", pa.int64()),
        ("first_seq", pa.int64()),
        ("last_seq", pa.int64()),
        ("n_keys", pa.int64()),
        ("text_after", pa.string()),
    ]
)
PAUSE_TYPE: Final = pa.struct(
    [("t", pa.int64()), ("duration", pa.int64()), ("seq", pa.int64()), ("pos", pa.int64())]
)
REVISION_TYPE: Final = pa.struct(
    [
        ("t_start", pa.int64()),
        ("t_end", pa.int64()),
        ("first_edit", pa.int64()),
        ("n_edits", pa.int64()),
        ("pos", pa.int64()),
        ("n_deleted", pa.int64()),
        ("n_inserted", pa.int64()),
    ]
)

# Counters, in schema order; the fast builder fills them by name.
COUNTERS: Final = (
    "n_keystrokes",
    "n_clicks",
    "n_unmodelled",
    "n_redacted",
    "n_editor_mismatches",
    "n_revisions",
)

WRITING_SCHEMA: Final = pa.schema(
    [
        pa.field("doc", pa.string(), nullable=False),
        pa.field("session", pa.string(), nullable=False),
        pa.field("window", pa.int64(), nullable=False),
        pa.field("app", pa.string()),
        pa.field("title", pa.string()),
        pa.field("t_start", pa.int64(), nullable=False),
        pa.field("t_end", pa.int64(), nullable=False),
        *(pa.field(name, pa.int64(), nullable=False) for name in COUNTERS),
        pa.field("pause_threshold", pa.int64(), nullable=False),
        pa.field("edits", pa.list_(EDIT_TYPE), nullable=False),
        pa.field("bursts", pa.list_(BURST_TYPE), nullable=False),
        pa.field("pauses", pa.list_(PAUSE_TYPE), nullable=False),
        pa.field("revisions", pa.list_(REVISION_TYPE), nullable=False),
        pa.field("final_text", pa.string(), nullable=False),
    ]
)


def doc_key(session: str, window: int) -> str:
    """The document identity: a session's focused window (field-level identity needs the
    browser bridge or an editor log; until then a window is a document)."""
    return f"{session}/{window}"


def records_to_table(records: Sequence[WritingRecord]) -> pa.Table:
    """Structs → a table in ``WRITING_SCHEMA`` (row order kept)."""
    rows = msgspec.to_builtins(list(records))
    return pa.Table.from_pylist(rows, schema=WRITING_SCHEMA)


def table_to_records(table: pa.Table) -> list[WritingRecord]:
    """A table in ``WRITING_SCHEMA`` → structs, validated by msgspec."""
    return msgspec.convert(table.to_pylist(), list[WritingRecord])
