"""The keystroke CSV contract (``user,session,keyname,timepress,timerelease``, ms) with
line-level errors: a bad line is reported as ``line N: reason`` and left out; the rest is read.

Policy: the input is unusable as a whole (``TimingInputError``) only when it is empty, when its
first line is neither the header nor a data row, or when no line is usable. A first line that is
a data row is read as data in the contract's column order, with a note that the header is
missing. A header naming the five columns in another order is followed.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TextIO

import pyarrow as pa

from workprint.privacy.timing.sessions import KEYSTROKE_COLUMNS
from workprint.privacy.timing.settings import TimingInputError

HEADER = ",".join(KEYSTROKE_COLUMNS)


@dataclass
class ParsedKeystrokes:
    table: pa.Table
    problems: list[str] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)  # input line of each row of ``table``


def _time(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _row_problem(fields: list[str]) -> tuple[str | None, tuple[str, str, str, float, float]]:
    """The reason a data row is bad (None if good) and the row read in contract order."""
    empty: tuple[str, str, str, float, float] = ("", "", "", 0.0, 0.0)
    if len(fields) != len(KEYSTROKE_COLUMNS):
        return f"expected {len(KEYSTROKE_COLUMNS)} columns, got {len(fields)}", empty
    user, session, key, press_text, release_text = fields
    for name, value in (("user", user), ("session", session), ("keyname", key)):
        if not value.strip():
            return f"empty {name}", empty
    press, release = _time(press_text), _time(release_text)
    if press is None:
        return f"timepress {press_text!r} is not a number", empty
    if release is None:
        return f"timerelease {release_text!r} is not a number", empty
    if release < press:
        return f"timerelease {release_text} is before timepress {press_text}", empty
    return None, (user, session, key, press, release)


def read_keystrokes(source: TextIO | Iterable[str]) -> ParsedKeystrokes:
    """Parse the CSV; raise ``TimingInputError`` only if the input is unusable as a whole."""
    rows = csv.reader(source)
    columns: list[list[str | float]] = [[] for _ in KEYSTROKE_COLUMNS]
    parsed = ParsedKeystrokes(table=pa.table({}))
    order = list(range(len(KEYSTROKE_COLUMNS)))
    seen_any = False
    for fields in rows:
        number = rows.line_num
        if not seen_any:
            seen_any = True
            names = [name.strip().lower() for name in fields]
            if sorted(names) == sorted(KEYSTROKE_COLUMNS):
                order = [names.index(name) for name in KEYSTROKE_COLUMNS]
                continue
            if _row_problem(fields)[0] is not None:
                raise TimingInputError(f"line {number}: expected the header {HEADER}")
            parsed.problems.append(f"line {number}: no header; reading columns as {HEADER}")
        if not fields or (len(fields) == 1 and not fields[0].strip()):
            parsed.problems.append(f"line {number}: empty line")
            continue
        if len(fields) == len(order):
            fields = [fields[i] for i in order]
        problem, row = _row_problem(fields)
        if problem is not None:
            parsed.problems.append(f"line {number}: {problem}")
            continue
        for index in range(len(KEYSTROKE_COLUMNS)):
            columns[index].append(row[index])
        parsed.lines.append(number)
    if not seen_any:
        raise TimingInputError(f"empty input: expected the header {HEADER}")
    if parsed.problems and not parsed.lines:
        raise TimingInputError(f"no usable rows ({len(parsed.problems)} bad)")
    parsed.table = pa.table(
        {
            "user": pa.array(columns[0], pa.string()),
            "session": pa.array(columns[1], pa.string()),
            "keyname": pa.array(columns[2], pa.string()),
            "timepress": pa.array(columns[3], pa.float64()),
            "timerelease": pa.array(columns[4], pa.float64()),
        }
    )
    return parsed


def _ms(value: float) -> str:
    return str(int(value)) if value.is_integer() else repr(value)


def write_keystrokes(table: pa.Table, sink: TextIO) -> None:
    """The five columns as CSV with the header; whole-ms times without a decimal point."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(KEYSTROKE_COLUMNS)
    data = [table.column(name).to_pylist() for name in KEYSTROKE_COLUMNS]
    for user, session, key, press, release in zip(*data, strict=True):
        writer.writerow((user, session, key, _ms(press), _ms(release)))
    sink.write(buffer.getvalue())
