"""The writing-process builder: keystrokes (and editor logs) → per-document text histories.

``build_writing`` is the fast, columnar builder; ``build_writing_reference`` the plain per-event
oracle it is tested against. See docs/writing.md for the record and the cursor model.
"""

from workprint.builders.writing.config import DEFAULT_PAUSE_S, WritingConfig
from workprint.builders.writing.fast import build_writing
from workprint.builders.writing.record import (
    WRITING_SCHEMA,
    Burst,
    EditOp,
    PauseSpan,
    Revision,
    WritingRecord,
    records_to_table,
    table_to_records,
)
from workprint.builders.writing.reference import build_writing_reference
from workprint.builders.writing.step import build_writing_batches, writing_step
from workprint.events.editor_log import (
    EDITOR_SCHEMA,
    EditorEntry,
    editor_to_table,
    table_to_entries,
)

__all__ = [
    "DEFAULT_PAUSE_S",
    "EDITOR_SCHEMA",
    "WRITING_SCHEMA",
    "Burst",
    "EditOp",
    "EditorEntry",
    "PauseSpan",
    "Revision",
    "WritingConfig",
    "WritingRecord",
    "build_writing",
    "build_writing_batches",
    "build_writing_reference",
    "editor_to_table",
    "records_to_table",
    "table_to_entries",
    "table_to_records",
    "writing_step",
]
