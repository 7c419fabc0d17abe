"""Vectorised validation of an incoming events table against the event model.

A table may come straight from a client (Arrow IPC), so the store re-checks what msgspec would:
known type, required fields present, integer bounds, string lengths, literal values (key
classes, modifiers, scopes) — and that no row carries a field its type does not have (a
``mouse_move`` smuggling a ``char`` past the consent check). The rules are derived from the
msgspec structs, so a field added to the model is checked without touching this file.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import cache
from typing import Any, Final

import msgspec
import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from workprint.events.columnar import COLUMNS, EVENT_SCHEMA
from workprint.events.model import EVENT_TYPES
from workprint.store.interface import StoreError

Mask = npt.NDArray[np.bool_]
Check = Callable[[pa.Array], Mask]  # non-null values → True where invalid
_TAGS: Final = tuple(str(cls.__struct_config__.tag) for cls in EVENT_TYPES)


def conform(table: pa.Table) -> pa.Table:
    """The table's columns in EVENT_SCHEMA order and types; ``StoreError`` if it cannot be."""
    have = set(table.column_names)
    missing = [name for name in COLUMNS if name not in have]
    if missing:
        raise StoreError(f"events table lacks columns: {', '.join(missing)}")
    selected = table.select(list(COLUMNS))
    if selected.schema.equals(EVENT_SCHEMA):
        return selected
    try:
        return selected.cast(EVENT_SCHEMA)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as exc:
        raise StoreError(f"events table does not fit the event schema: {exc}") from None


def type_masks(table: pa.Table) -> dict[str, Mask]:
    """Per known event type, which rows have it (from the dictionary codes: no string work)."""
    column = table.column("type").combine_chunks()
    if not isinstance(column, pa.DictionaryArray):
        column = pc.dictionary_encode(column)
    codes = pc.fill_null(column.indices, -1).to_numpy(zero_copy_only=False)
    names = column.dictionary.to_pylist()
    masks = {tag: np.zeros(len(codes), dtype=np.bool_) for tag in _TAGS}
    for code, name in enumerate(names):
        if name in masks:
            masks[name] |= codes == code
    return masks


def invalid_rows(table: pa.Table, type_mask: dict[str, Mask]) -> dict[int, str]:
    """Row index → reason, for every row that is not a valid event (empty when all are).

    Cheap when all is well: a column with no value is checked only for required fields, and
    only types present in the batch are looked at."""
    n = table.num_rows
    reasons: dict[int, str] = {}
    if n == 0:
        return reasons
    present_tags = {tag for tag, mask in type_mask.items() if mask.any()}
    known = np.zeros(n, dtype=np.bool_)
    for tag in present_tags:
        known |= type_mask[tag]
    if len(present_tags) == 0 or not known.all():
        _note(reasons, ~known, "unknown event type")
    for column in COLUMNS[1:]:
        array = table.column(column)
        groups = [
            (tags, required, check)
            for tags, required, check in _rules(column)
            if present_tags.intersection(tags)
        ]
        if array.null_count == n:  # no values: only a required field can be wrong
            for tags, required, _ in groups:
                for tag in tags if required else ():
                    _note(reasons, type_mask[tag], f"{column} is required for {tag}")
            continue
        array = array.combine_chunks()
        present: Mask = pc.is_valid(array).to_numpy(zero_copy_only=False)
        has_field = np.zeros(n, dtype=np.bool_)
        for tags, required, check in groups:
            rows = np.zeros(n, dtype=np.bool_)
            for tag in tags:
                rows |= type_mask[tag]
            has_field |= rows
            if required and (rows & ~present).any():
                for tag in tags:
                    _note(reasons, type_mask[tag] & ~present, f"{column} is required for {tag}")
            if check is not None:
                _note(reasons, rows & present & check(array), f"{column} is out of range")
        _note(reasons, present & ~has_field, f"{column} does not belong to its event type")
    return reasons


def _note(reasons: dict[int, str], mask: Mask, reason: str) -> None:
    for row in np.flatnonzero(mask).tolist():
        reasons.setdefault(int(row), reason)


@cache
def _rules(column: str) -> list[tuple[tuple[str, ...], bool, Check | None]]:
    """For ``column``: groups of event types sharing (required?, value check)."""
    groups: dict[tuple[bool, str], list[str]] = {}
    infos: dict[tuple[bool, str], Any] = {}
    for cls in EVENT_TYPES:
        info = msgspec.inspect.type_info(cls)
        assert isinstance(info, msgspec.inspect.StructType)
        for field in info.fields:
            if field.name == column:
                required = field.required or column in ("t", "session", "seq")
                signature = (required, repr(field.type))
                groups.setdefault(signature, []).append(str(cls.__struct_config__.tag))
                infos[signature] = field.type
    return [
        (tuple(tags), required, _check_for(infos[(required, kind)]))
        for (required, kind), tags in groups.items()
    ]


def _check_for(info: Any) -> Check | None:
    inspect = msgspec.inspect
    if isinstance(info, inspect.UnionType):
        members = [m for m in info.types if not isinstance(m, inspect.NoneType)]
        if len(members) != 1:
            raise NotImplementedError(f"no vectorised check for {info!r}")
        return _check_for(members[0])
    if isinstance(info, inspect.IntType):
        low, high = info.ge, info.le
        return lambda a: _range(a, low, high)
    if isinstance(info, inspect.StrType):
        shortest, longest = info.min_length, info.max_length
        if shortest is None and longest is None:
            return None
        return lambda a: _range(pc.utf8_length(pc.cast(a, pa.string())), shortest, longest)
    if isinstance(info, inspect.LiteralType):
        allowed = pa.array([str(v) for v in info.values], pa.string())
        return lambda a: _literal(a, allowed)
    if isinstance(info, inspect.VarTupleType):
        item = _check_for(info.item_type)
        if item is None:
            return None
        return lambda a: _list_items(a, item)
    raise NotImplementedError(f"no vectorised check for {info!r}")


def _range(values: pa.Array, low: int | None, high: int | None) -> Mask:
    """True where a value is below ``low`` or above ``high``; a bound the column's type
    cannot exceed anyway costs nothing, and the rows are looked at only when the column's
    smallest or largest value is out of range (the common case is one ``min_max``)."""
    bad = np.zeros(len(values), dtype=np.bool_)
    smallest, largest = _limits(values.type)
    check_low = low is not None and low > smallest
    check_high = high is not None and high < largest
    if not (check_low or check_high):
        return bad
    extremes = pc.min_max(values)
    least, most = extremes["min"].as_py(), extremes["max"].as_py()
    if least is None:  # no values
        return bad
    if check_low and least < low:
        bad |= _np(pc.less(values, pa.scalar(low, values.type)))
    if check_high and most > high:
        bad |= _np(pc.greater(values, pa.scalar(high, values.type)))
    return bad


def _literal(values: pa.Array, allowed: pa.Array) -> Mask:
    """True where a value is not one of ``allowed``; for a dictionary column whose every
    dictionary value is allowed, nothing more to look at."""
    if (
        pa.types.is_dictionary(values.type)
        and pc.all(pc.is_in(pc.cast(values.dictionary, pa.string()), value_set=allowed)).as_py()
    ):
        return np.zeros(len(values), dtype=np.bool_)
    return ~_np(pc.is_in(pc.cast(values, pa.string()), value_set=allowed))


def _limits(kind: pa.DataType) -> tuple[float, float]:
    if not pa.types.is_integer(kind):
        return -math.inf, math.inf
    bits = int(kind.bit_width)
    if pa.types.is_signed_integer(kind):
        return -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    return 0, (1 << bits) - 1


def _list_items(values: pa.Array, item: Check) -> Mask:
    bad = np.zeros(len(values), dtype=np.bool_)
    flat = pc.list_flatten(values)
    if len(flat) == 0:
        return bad
    parents = pc.list_parent_indices(values).to_numpy()
    wrong = item(flat) | ~_np(pc.is_valid(flat))
    bad[parents[wrong]] = True
    return bad


def _np(values: pa.Array | pa.ChunkedArray) -> Mask:
    filled = pc.fill_null(values, False)
    if isinstance(filled, pa.ChunkedArray):
        filled = filled.combine_chunks()
    result: Mask = filled.to_numpy(zero_copy_only=False).astype(np.bool_, copy=False)
    return result
