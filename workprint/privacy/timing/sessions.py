"""A keystroke table as numpy arrays in press order within each (user, session).

Both the anonymiser and the re-identification attack need the same view of the data: rows of
one session together, in the order the keys went down, with integer codes for people, sessions
and keys. Building it once, vectorised, keeps per-event Python loops out of the hot path.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from workprint.privacy.timing.settings import TimingInputError

KEYSTROKE_COLUMNS: Final = ("user", "session", "keyname", "timepress", "timerelease")

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


def _codes(column: pa.ChunkedArray | pa.Array) -> tuple[IntArray, list[str]]:
    """Dictionary codes and the labels they stand for; any type is read as its string form."""
    if not pa.types.is_string(column.type) and not pa.types.is_large_string(column.type):
        column = pc.cast(column, pa.string())
    encoded = pc.dictionary_encode(column)
    if isinstance(encoded, pa.ChunkedArray):
        encoded = encoded.combine_chunks()
    labels = [str(label) for label in encoded.dictionary.to_pylist()]
    return encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64), labels


def _times(table: pa.Table, name: str) -> FloatArray:
    column = table.column(name)
    if column.null_count:
        row = int(pc.index(pc.is_null(column), True).as_py())
        raise TimingInputError(f"row {row}: {name} is missing")
    try:
        values = pc.cast(column, pa.float64()).to_numpy(zero_copy_only=False)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise TimingInputError(f"{name} must be numeric ms: {exc}") from exc
    bad = ~np.isfinite(values)
    if bad.any():
        raise TimingInputError(f"row {int(np.argmax(bad))}: {name} is not a finite number")
    return np.asarray(values, dtype=np.float64)


@dataclass(frozen=True)
class KeystrokeSessions:
    """Rows sorted by (session, press time, original row); every array is in that order."""

    row: IntArray  # original row index
    group: IntArray  # session number, 0..n_groups-1, contiguous runs
    person: IntArray  # code of the user column
    key: IntArray  # code of the keyname column
    press: FloatArray
    release: FloatArray
    starts: IntArray  # first sorted position of each session
    sizes: IntArray  # keys per session
    group_person: IntArray  # person of each session
    key_names: list[str]
    person_names: list[str]

    @property
    def n_groups(self) -> int:
        return len(self.starts)

    @property
    def is_first(self) -> BoolArray:
        """True at each session's first key (which has no preceding interval)."""
        first = np.zeros(len(self.row), dtype=np.bool_)
        first[self.starts] = True
        return first

    def position_in_group(self) -> IntArray:
        return np.arange(len(self.row), dtype=np.int64) - np.repeat(self.starts, self.sizes)


def keystroke_sessions(table: pa.Table) -> KeystrokeSessions:
    """Validate the five columns and sort. Raises ``TimingInputError`` naming the first bad row
    (0-based) for missing or non-finite times or a release before its press."""
    missing = [name for name in KEYSTROKE_COLUMNS if name not in table.column_names]
    if missing:
        raise TimingInputError(f"missing column(s): {', '.join(missing)}")
    press = _times(table, "timepress")
    release = _times(table, "timerelease")
    early = release < press
    if early.any():
        raise TimingInputError(f"row {int(np.argmax(early))}: timerelease is before timepress")
    for name in ("user", "session", "keyname"):
        if table.column(name).null_count:
            bad_row = int(pc.index(pc.is_null(table.column(name)), True).as_py())
            raise TimingInputError(f"row {bad_row}: {name} is missing")
    person, person_names = _codes(table.column("user"))
    session, _ = _codes(table.column("session"))
    key, key_names = _codes(table.column("keyname"))
    n = len(press)
    row = np.arange(n, dtype=np.int64)
    # Sessions are (user, session) pairs: the same session label under two users is two sessions.
    pair = person * (int(session.max(initial=0)) + 1) + session
    _, group = np.unique(pair, return_inverse=True)
    group = group.astype(np.int64)
    order = np.lexsort((row, press, group))
    group = group[order]
    sizes = np.bincount(group).astype(np.int64)
    starts = np.concatenate(([0], np.cumsum(sizes)[:-1])).astype(np.int64)
    return KeystrokeSessions(
        row=row[order],
        group=group,
        person=person[order],
        key=key[order],
        press=press[order],
        release=release[order],
        starts=starts,
        sizes=sizes,
        group_person=person[order][starts] if n else np.zeros(0, dtype=np.int64),
        key_names=key_names,
        person_names=person_names,
    )


def group_sum(values: FloatArray, group: IntArray, n_groups: int) -> FloatArray:
    return np.bincount(group, weights=values, minlength=n_groups).astype(np.float64)


def group_median(values: FloatArray, group: IntArray, n_groups: int) -> FloatArray:
    """Median of ``values`` per group (NaN for a group with none), without a Python loop."""
    result = np.full(n_groups, np.nan)
    if len(values) == 0:
        return result
    order = np.lexsort((values, group))
    sorted_values = values[order]
    counts = np.bincount(group, minlength=n_groups)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    has = counts > 0
    low = starts[has] + (counts[has] - 1) // 2
    high = starts[has] + counts[has] // 2
    result[has] = (sorted_values[low] + sorted_values[high]) / 2
    return result
