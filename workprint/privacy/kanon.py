"""k-anonymity over a release's quasi-identifiers, counted in *people*, not rows.

A class is the set of rows that share one combination of quasi-identifier values (say app
category × screen size). The release is k-anonymous when every class holds rows of at least k
distinct people: then nothing in those columns points at fewer than k people. The result names
offending classes only by a keyed digest of their values and by their sizes — a report must not
print the very combination that identifies someone.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import msgspec
import pyarrow as pa


class KClass(msgspec.Struct, frozen=True, kw_only=True):
    """One offending class: its digest, how many people and rows it holds."""

    digest: str
    people: int
    rows: int


class KAnonResult(msgspec.Struct, frozen=True, kw_only=True):
    k: int
    quasi_identifiers: tuple[str, ...]
    missing: tuple[str, ...]  # asked for but not columns of this dataset
    classes: int
    smallest: int  # people in the smallest class (0 when there are no rows)
    violations: tuple[KClass, ...]

    @property
    def ok(self) -> bool:
        return not self.violations

    def reason(self) -> str:
        """One line for the report: why the check failed (or that it passed)."""
        if self.ok:
            return f"every class has ≥ {self.k} people (smallest {self.smallest})"
        return (
            f"{len(self.violations)} of {self.classes} classes over "
            f"({', '.join(self.quasi_identifiers)}) have fewer than {self.k} people "
            f"(smallest: {self.smallest})"
        )


def _text(value: Any) -> str:
    return "\x00null" if value is None else str(value)


def check_k_anonymity(
    table: pa.Table,
    quasi_identifiers: Sequence[str],
    k: int,
    *,
    person_column: str = "person",
    opaque: Callable[[str], str],
) -> KAnonResult:
    """Group ``table`` by the quasi-identifiers present in it and count distinct people per
    class; ``opaque`` turns a class's joined values into the digest the result shows."""
    if k < 1:
        raise ValueError("k must be at least 1")
    present = tuple(q for q in quasi_identifiers if q in table.column_names)
    missing = tuple(q for q in quasi_identifiers if q not in table.column_names)
    if table.num_rows == 0:
        return KAnonResult(
            k=k, quasi_identifiers=present, missing=missing, classes=0, smallest=0, violations=()
        )
    if not present:
        people = len(set(table.column(person_column).to_pylist()))
        bad = () if people >= k else (KClass(digest=opaque("all"), people=people, rows=0),)
        return KAnonResult(
            k=k,
            quasi_identifiers=(),
            missing=missing,
            classes=1,
            smallest=people,
            violations=bad,
        )
    subset = table.select([person_column, *present])
    grouped = subset.group_by(list(present), use_threads=False).aggregate(
        [(person_column, "count_distinct"), (person_column, "count")]
    )
    people_col = grouped.column(f"{person_column}_count_distinct").to_pylist()
    rows_col = grouped.column(f"{person_column}_count").to_pylist()
    keys = [grouped.column(q).to_pylist() for q in present]
    violations: list[KClass] = []
    for i, (people, rows) in enumerate(zip(people_col, rows_col, strict=True)):
        if people < k:
            joined = "\x1f".join(_text(col[i]) for col in keys)
            violations.append(KClass(digest=opaque(joined), people=people, rows=rows))
    violations.sort(key=lambda c: (c.people, c.digest))
    return KAnonResult(
        k=k,
        quasi_identifiers=present,
        missing=missing,
        classes=grouped.num_rows,
        smallest=min(people_col),
        violations=tuple(violations),
    )
