"""Columnar output of the fast builder: the replayed documents → a table in ``WRITING_SCHEMA``,
built from flat lists and NumPy (revision episodes are found vectorised over all edits)."""

from __future__ import annotations

from collections.abc import Iterable
from itertools import chain
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from workprint.builders.writing.config import WritingConfig
from workprint.builders.writing.record import (
    BURST_TYPE,
    EDIT_TYPE,
    PAUSE_TYPE,
    REVISION_TYPE,
    WRITING_SCHEMA,
)
from workprint.builders.writing.replay import EDITOR, FOCUS, KEY, FastDoc

if TYPE_CHECKING:
    from workprint.builders.writing.fast import _Items

I64 = npt.NDArray[np.int64]
_OP_NAMES = pa.array(["insert", "delete", "replace"])


def _flat(parts: Iterable[list[Any]]) -> list[Any]:
    return list(chain.from_iterable(parts))


def _offsets(lengths: list[int]) -> I64:
    return np.concatenate([[0], np.cumsum(lengths, dtype=np.int64)]).astype(np.int64)


def _list_column(offsets: I64, kind: pa.StructType, columns: list[Any]) -> pa.Array:
    arrays = [
        col if isinstance(col, pa.Array) else pa.array(col, type=field.type)
        for col, field in zip(columns, kind, strict=True)
    ]
    values = pa.StructArray.from_arrays(arrays, fields=list(kind))
    return pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), values)


def _tuples(rows: list[tuple[Any, ...]], width: int) -> list[list[Any]]:
    return [list(col) for col in zip(*rows, strict=True)] if rows else [[] for _ in range(width)]


def _revisions(
    offsets: I64, t: I64, pos: I64, flags: npt.NDArray[np.bool_], n_del: I64, n_ins: I64
) -> tuple[I64, pa.Array]:
    """Maximal runs of revision edits within each document → (count per doc, list column)."""
    docs = len(offsets) - 1
    first_of_doc = np.zeros(len(flags) + 1, np.bool_)
    first_of_doc[offsets[:-1]] = True
    joined = flags[1:] & flags[:-1] & ~first_of_doc[1:-1]
    starts = np.flatnonzero(flags & ~np.concatenate([[False], joined]))
    ends = np.flatnonzero(flags & ~np.concatenate([joined, [False]]))
    sum_del = np.concatenate([[0], np.cumsum(n_del)])
    sum_ins = np.concatenate([[0], np.cumsum(n_ins)])
    owner = np.searchsorted(offsets, starts, side="right") - 1
    counts = np.bincount(owner, minlength=docs).astype(np.int64)
    columns = [
        t[starts],
        t[ends],
        starts - offsets[owner],
        ends - starts + 1,
        pos[starts],
        sum_del[ends + 1] - sum_del[starts],
        sum_ins[ends + 1] - sum_ins[starts],
    ]
    return counts, _list_column(_offsets(counts.tolist()), REVISION_TYPE, columns)


def assemble(
    items: _Items, doc: I64, doc_keys: I64, docs: list[FastDoc], config: WritingConfig
) -> pa.Table:
    """One row per document that saw a key or an editor entry, in order of its first one."""
    kind = items.kind
    touched = np.flatnonzero((kind == KEY) | (kind == EDITOR))
    ids, first = np.unique(doc[touched], return_index=True)
    _, last_rev = np.unique(doc[touched][::-1], return_index=True)
    order = np.argsort(first, kind="stable")
    out = ids[order]
    first_at, last_at = touched[first[order]], touched[len(touched) - 1 - last_rev[order]]
    keystrokes = np.bincount(doc[kind == KEY], minlength=len(doc_keys))[out]
    focus = np.flatnonzero(kind == FOCUS)
    focus_keys, focus_first = np.unique(
        (items.sess[focus] << 32) | items.window[focus], return_index=True
    )
    where = np.searchsorted(focus_keys, doc_keys[out]).clip(0, max(len(focus_keys) - 1, 0))
    known = (
        (focus_keys[where] == doc_keys[out]) if len(focus_keys) else np.zeros(len(out), np.bool_)
    )
    meta_at = np.where(known, focus[focus_first[where]] if len(focus) else 0, -1)
    apps = items.column("app", meta_at.astype(np.int64)) if len(out) else []
    titles = items.column("title", meta_at.astype(np.int64)) if len(out) else []
    chosen = [docs[i] for i in out.tolist()]
    edit_offsets = _offsets([len(d.op_t) for d in chosen])
    op_t = np.array(_flat(d.op_t for d in chosen), np.int64)
    op_pos = np.array(_flat(d.op_pos for d in chosen), np.int64)
    deleted = pa.array(_flat(d.op_del for d in chosen), pa.string())
    inserted = pa.array(_flat(d.op_ins for d in chosen), pa.string())
    op_kind = pa.array(_flat(d.op_kind for d in chosen), pa.int8())
    edits = _list_column(
        edit_offsets,
        EDIT_TYPE,
        [
            op_t,
            _flat(d.op_seq for d in chosen),
            pa.DictionaryArray.from_arrays(op_kind, _OP_NAMES).cast(pa.string()),
            op_pos,
            deleted,
            inserted,
        ],
    )
    n_revisions, revisions = _revisions(
        edit_offsets,
        op_t,
        op_pos,
        np.array(_flat(d.op_rev for d in chosen), np.bool_),
        pc.utf8_length(deleted).to_numpy().astype(np.int64),
        pc.utf8_length(inserted).to_numpy().astype(np.int64),
    )
    bursts = _list_column(
        _offsets([len(d.bursts) for d in chosen]),
        BURST_TYPE,
        _tuples(_flat(d.bursts for d in chosen), 7),
    )
    pauses = _list_column(
        _offsets([len(d.pauses) for d in chosen]),
        PAUSE_TYPE,
        _tuples(_flat(d.pauses for d in chosen), 4),
    )
    sessions = [items.sessions[s] for s in (doc_keys[out] >> 32).tolist()]
    windows = (doc_keys[out] & 0xFFFFFFFF).tolist()
    columns = {
        "doc": [f"{s}/{w}" for s, w in zip(sessions, windows, strict=True)],
        "session": sessions,
        "window": windows,
        "app": apps,
        "title": titles,
        "t_start": items.t[first_at],
        "t_end": items.t[last_at],
        "n_keystrokes": keystrokes.astype(np.int64),
        "n_clicks": [d.clicks for d in chosen],
        "n_unmodelled": [d.unmodelled for d in chosen],
        "n_redacted": [d.redacted for d in chosen],
        "n_editor_mismatches": [d.mismatches for d in chosen],
        "n_revisions": n_revisions,
        "pause_threshold": [config.pause_ns] * len(out),
        "edits": edits,
        "bursts": bursts,
        "pauses": pauses,
        "revisions": revisions,
        "final_text": [d.text for d in chosen],
    }
    arrays = [
        value if isinstance(value, pa.Array) else pa.array(value, type=field.type)
        for value, field in zip(columns.values(), WRITING_SCHEMA, strict=True)
    ]
    return pa.Table.from_arrays(arrays, schema=WRITING_SCHEMA)
