"""An events table as NumPy columns for the fast reducer, built with whole-column operations.

Only rows that can change what an action is (presses, releases, wheel notches, key presses,
modifier releases, focus changes, boundaries) are handed to Python, as plain lists; mouse moves
and ordinary key releases stay in arrays.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from workprint.builders.actions import keys as K

# Row codes.
MOVE: Final = 0
DOWN: Final = 1
UP: Final = 2
SCROLL: Final = 3
KEY_DOWN: Final = 4
KEY_UP: Final = 5
FOCUS: Final = 6
BOUNDARY: Final = 7
START: Final = 8  # session_start: a boundary that also sets the screen size
OTHER: Final = 9

_CODES: Final = {
    "mouse_move": MOVE,
    "mouse_down": DOWN,
    "mouse_up": UP,
    "scroll": SCROLL,
    "key_down": KEY_DOWN,
    "key_up": KEY_UP,
    "window_focus": FOCUS,
    "session_start": START,
    "session_stop": BOUNDARY,
    "pause": BOUNDARY,
    "resume": BOUNDARY,
    "gap": BOUNDARY,
    "consent_change": BOUNDARY,
}
_MODIFIER_KEYS: Final = pa.array(sorted(K.MODIFIER_OF_KEY))

IntArray = np.ndarray[Any, np.dtype[np.int64]]
BoolArray = np.ndarray[Any, np.dtype[np.bool_]]


def _codes(column: pa.ChunkedArray) -> np.ndarray[Any, np.dtype[np.int8]]:
    parts = []
    for chunk in column.chunks:
        if not pa.types.is_dictionary(chunk.type):
            chunk = chunk.dictionary_encode()
        lookup = np.array([_CODES.get(v, OTHER) for v in chunk.dictionary.to_pylist()], np.int8)
        indices = chunk.indices.fill_null(0).to_numpy(zero_copy_only=False)
        parts.append(lookup[indices] if len(lookup) else np.full(len(chunk), OTHER, np.int8))
    return np.concatenate(parts) if parts else np.zeros(0, np.int8)


def _changes(session: pa.ChunkedArray) -> BoolArray:
    """Rows whose session id differs from the previous row's."""
    n = len(session)
    change = np.zeros(n, bool)
    if n < 2:
        return change
    if session.num_chunks == 1 and pa.types.is_dictionary(session.type):
        chunk = session.chunk(0)
        if chunk.null_count == 0 and len(pc.unique(chunk.dictionary)) == len(chunk.dictionary):
            ids = chunk.indices.to_numpy()  # distinct dictionary values: equal ids, equal ids
            change[1:] = ids[1:] != ids[:-1]
            return change
    values = session.cast(pa.string())
    change[1:] = pc.not_equal(values[1:], values[:-1]).to_numpy(zero_copy_only=False)
    return change


def _ints(table: pa.Table, name: str) -> IntArray:
    values: IntArray = pc.fill_null(table.column(name), 0).to_numpy().astype(np.int64, copy=False)
    return values


@dataclass
class Columns:
    n: int
    code: np.ndarray[Any, np.dtype[np.int8]]
    t: IntArray
    seq: IntArray
    x: IntArray
    y: IntArray
    button: IntArray
    dx: IntArray
    dy: IntArray
    session_change: BoolArray  # row r starts a new session id (r > 0)
    neutral_key: BoolArray  # key releases and modifier key presses
    modifier_key: BoolArray  # key rows of keys that hold a modifier (Shift_L, Control_R…)
    key_rows: IntArray
    key: list[str | None]
    char: list[str | None]
    cls: list[str | None]
    mod_bits: list[int]  # per key row: held shift/ctrl/alt/meta as bits (keys.MOD_BITS)
    kcode: list[int]  # per key row: keys.classify_key of the press
    table: pa.Table
    _pointer: tuple[IntArray, IntArray, IntArray] | None = None

    @classmethod
    def from_table(cls, table: pa.Table) -> Columns:
        table = table.combine_chunks() if table.num_rows else table
        n = table.num_rows
        code = _codes(table.column("type"))
        change = _changes(table.column("session"))
        is_key = (code == KEY_DOWN) | (code == KEY_UP)
        key_rows = np.flatnonzero(is_key)
        take = pa.array(key_rows)
        key_col = table.column("key").take(take)
        cls_col = table.column("cls").take(take).cast(pa.string())
        named_mod = pc.fill_null(pc.is_in(key_col, value_set=_MODIFIER_KEYS), False)
        cls_mod = pc.fill_null(pc.equal(cls_col, "modifier"), False)
        modifier_key = np.zeros(n, bool)
        modifier_key[key_rows[named_mod.to_numpy(zero_copy_only=False)]] = True
        neutral = code == KEY_UP
        neutral[key_rows[pc.or_(named_mod, cls_mod).to_numpy(zero_copy_only=False)]] = True
        char_col = table.column("char").take(take)
        mods_col = table.column("mods").take(take)
        key_list, char_list, cls_list = (
            key_col.to_pylist(),
            char_col.to_pylist(),
            cls_col.to_pylist(),
        )
        bits = _mod_bits(mods_col)
        kcode = _key_codes(key_col, char_col, cls_col, bits, key_list, char_list, cls_list)
        return cls(
            n=n,
            code=code,
            t=_ints(table, "t"),
            seq=_ints(table, "seq"),
            x=_ints(table, "x"),
            y=_ints(table, "y"),
            button=_ints(table, "button"),
            dx=_ints(table, "dx"),
            dy=_ints(table, "dy"),
            session_change=change,
            neutral_key=neutral,
            modifier_key=modifier_key,
            key_rows=key_rows,
            key=key_list,
            char=char_list,
            cls=cls_list,
            mod_bits=bits.tolist(),
            kcode=kcode.tolist(),
            table=table,
        )

    def pointer_ff(self) -> tuple[IntArray, IntArray, IntArray]:
        """For every row: the last pointer row at or before it (-1: none), and its x, y."""
        if self._pointer is None:
            ptr = self.code <= SCROLL
            last = np.where(ptr, np.arange(self.n), -1)
            np.maximum.accumulate(last, out=last)
            safe = np.maximum(last, 0)
            self._pointer = (last, self.x[safe], self.y[safe])
        return self._pointer

    def loop_rows(self) -> IntArray:
        """Rows the scan must see: everything but moves and releases of ordinary keys."""
        code = self.code
        skip = (code == MOVE) | ((code == KEY_UP) & ~self.modifier_key)
        return np.flatnonzero(~skip | self.session_change)


def _mod_bits(mods: pa.Array | pa.ChunkedArray) -> np.ndarray[Any, np.dtype[np.int64]]:
    """Each row's ``mods`` list as shift/ctrl/alt/meta bits."""
    mods = mods.combine_chunks() if isinstance(mods, pa.ChunkedArray) else mods
    bits = np.zeros(len(mods), np.int64)
    flat = pc.list_flatten(mods)
    parents = pc.list_parent_indices(mods).to_numpy()
    for name, bit in K.MOD_BITS.items():
        hit = pc.fill_null(pc.equal(flat, name), False).to_numpy(zero_copy_only=False)
        np.bitwise_or.at(bits, parents[hit], bit)
    return bits


def _codes_of(column: pa.ChunkedArray | pa.Array) -> tuple[np.ndarray[Any, Any], int]:
    """Dictionary indices of a string column (-1 for null) and the dictionary's size."""
    encoded = pc.dictionary_encode(column)
    if isinstance(encoded, pa.ChunkedArray):
        encoded = encoded.combine_chunks()
    indices = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    return indices, len(encoded.dictionary)


def _key_codes(
    key: pa.ChunkedArray,
    char: pa.ChunkedArray,
    cls: pa.ChunkedArray,
    bits: np.ndarray[Any, np.dtype[np.int64]],
    key_list: list[str | None],
    char_list: list[str | None],
    cls_list: list[str | None],
) -> np.ndarray[Any, np.dtype[np.int64]]:
    """``keys.classify_key`` for every key row: Python's own rules applied once per distinct
    (key, char, class, modifiers), then spread with one take."""
    if len(bits) == 0:
        return np.zeros(0, np.int64)
    combo = np.zeros(len(bits), np.int64)
    span = 16
    for column in (key, char, cls):
        ids, size = _codes_of(column)
        combo = combo * (size + 1) + ids + 1  # a distinct number per combination
        span *= size + 1
    if span >= 2**62:  # too many distinct values to number them in 64 bits: row by row
        return np.array(
            [
                K.classify_key(k, c, x, K.mods_from_bits(b))
                for k, c, x, b in zip(key_list, char_list, cls_list, bits.tolist(), strict=True)
            ],
            np.int64,
        )
    combo = combo * 16 + bits
    _, first, inverse = np.unique(combo, return_index=True, return_inverse=True)
    table = np.array(
        [
            K.classify_key(key_list[i], char_list[i], cls_list[i], K.mods_from_bits(int(bits[i])))
            for i in first.tolist()
        ],
        np.int64,
    )
    codes: np.ndarray[Any, np.dtype[np.int64]] = table[inverse.reshape(-1)]
    return codes
