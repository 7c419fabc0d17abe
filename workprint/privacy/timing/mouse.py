"""Mouse approach paths re-synthesised between their endpoints (docs/privacy-timing.md).

Mouse dynamics identify people through the shape of a movement (curvature, overshoot), its
velocity profile and the sampling jitter of their device. What a dataset of actions needs is
where a movement started and ended and when. So each path keeps its first and last point
exactly (position and time: the last is usually a click that other records refer to) and its
number of points; the points between become evenly spaced in time along a minimum-jerk
movement (Flash & Hogan 1985: the smooth profile every hand approximates) on a gentle arc whose
bend is drawn at random per path, independent of the person.
"""

from __future__ import annotations

import secrets

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from workprint.privacy.timing.sessions import FloatArray
from workprint.privacy.timing.settings import MOUSE_COLUMNS, TimingInputError

DEFAULT_MAX_BEND = 0.08  # arc height as a share of the straight distance, drawn in ±this


def minimum_jerk(tau: FloatArray) -> FloatArray:
    """Share of the distance covered at time share ``tau`` (0..1) of a minimum-jerk movement."""
    return np.asarray(tau**3 * (10 - 15 * tau + 6 * tau**2), dtype=np.float64)


def _numeric(table: pa.Table, name: str) -> FloatArray:
    column = table.column(name)
    if column.null_count:
        bad_row = int(pc.index(pc.is_null(column), True).as_py())
        raise TimingInputError(f"row {bad_row}: {name} is missing")
    if not (pa.types.is_integer(column.type) or pa.types.is_floating(column.type)):
        raise TimingInputError(f"{name} must be numeric, not {column.type}")
    values = np.asarray(column.to_numpy(), dtype=np.float64)
    bad = ~np.isfinite(values)
    if bad.any():
        raise TimingInputError(f"row {int(np.argmax(bad))}: {name} is not a finite number")
    return values


def _like(values: FloatArray, column_type: pa.DataType) -> pa.Array:
    """Values in the column's own type (integers rounded)."""
    if pa.types.is_integer(column_type):
        return pa.array(np.floor(values + 0.5).astype(np.int64)).cast(column_type)
    return pa.array(values).cast(column_type)


def anonymize_mouse_paths(
    table: pa.Table, *, seed: int | None = None, max_bend: float = DEFAULT_MAX_BEND
) -> pa.Table:
    """Rows of mouse positions: columns path (string/int id of one approach path, e.g. the
    moves between two clicks), t (int64 ns or float64 ms), x, y (numbers). Returns the same
    columns: each path's first and last point (and its total duration approximately) kept,
    the trajectory in between resampled/re-synthesised so curvature, velocity profile and
    sampling jitter no longer identify the person.

    Same rows in the same order, same types; other columns pass through. Within a path, the
    k-th point in time order gets the k-th synthetic point, so the time order of rows holds."""
    missing = [name for name in MOUSE_COLUMNS if name not in table.column_names]
    if missing:
        raise TimingInputError(f"missing column(s): {', '.join(missing)}")
    n = table.num_rows
    if n == 0:
        return table
    if table.column("path").null_count:
        bad_row = int(pc.index(pc.is_null(table.column("path")), True).as_py())
        raise TimingInputError(f"row {bad_row}: path is missing")
    rng = np.random.default_rng(secrets.randbits(64) if seed is None else seed)
    t_type = table.column("t").type
    t_raw = table.column("t").to_numpy()
    x, y = _numeric(table, "x"), _numeric(table, "y")
    _numeric(table, "t")
    path = pc.dictionary_encode(table.column("path").combine_chunks()).indices
    path_code = np.asarray(path.to_numpy(zero_copy_only=False), dtype=np.int64)

    row = np.arange(n)
    order = np.lexsort((row, t_raw, path_code))
    code = path_code[order]
    sizes = np.bincount(code)
    sizes = sizes[sizes > 0]
    starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    ends = starts + sizes - 1
    k = row - np.repeat(starts, sizes)
    last = np.repeat(sizes - 1, sizes)
    tau = np.divide(k, last, out=np.zeros(n), where=last > 0)

    # Times: offsets from the path's first point, so int64 ns epochs keep full precision.
    t_sorted = t_raw[order]
    t_first = np.repeat(t_sorted[starts], sizes)
    duration = np.repeat((t_sorted[ends] - t_sorted[starts]).astype(np.float64), sizes)
    if pa.types.is_integer(t_type):
        new_t = t_first.astype(np.int64) + np.floor(tau * duration + 0.5).astype(np.int64)
        new_t[ends] = t_sorted[ends]
        t_column = pa.array(new_t).cast(t_type)
    else:
        new_t_float = t_first.astype(np.float64) + tau * duration
        new_t_float[ends] = t_sorted[ends]
        t_column = pa.array(new_t_float).cast(t_type)

    x0, y0 = np.repeat(x[order][starts], sizes), np.repeat(y[order][starts], sizes)
    dx = np.repeat(x[order][ends], sizes) - x0
    dy = np.repeat(y[order][ends], sizes) - y0
    bend = np.repeat(rng.uniform(-max_bend, max_bend, len(sizes)), sizes)
    share = minimum_jerk(tau)
    arc = bend * np.sin(np.pi * share)
    # The arc is perpendicular to the straight line (−dy, dx), scaled by the distance.
    new_x = x0 + dx * share - dy * arc
    new_y = y0 + dy * share + dx * arc
    new_x[starts], new_y[starts] = x[order][starts], y[order][starts]
    new_x[ends], new_y[ends] = x[order][ends], y[order][ends]

    back = np.empty(n, dtype=np.int64)
    back[order] = row
    result = table
    for name, column in (
        ("t", t_column.take(pa.array(back))),
        ("x", _like(new_x, table.column("x").type).take(pa.array(back))),
        ("y", _like(new_y, table.column("y").type).take(pa.array(back))),
    ):
        result = result.set_column(result.column_names.index(name), name, column)
    return result
