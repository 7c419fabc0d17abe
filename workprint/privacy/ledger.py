"""The privacy-budget ledger: how much ε each person and each team has spent, release by release.

Differential privacy composes: every aggregate released about someone adds its ε to what is
known about them. The ledger keeps every spend (release, person or team, ε, time) in SQLite,
persistently, and refuses a release whose spend would take anyone past the configured total.
A refusal names how many people and which teams would go over, never which person.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Final, Literal

import msgspec

SubjectKind = Literal["person", "team"]
_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS spends (
  id INTEGER PRIMARY KEY,
  release_id TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('person', 'team')),
  subject TEXT NOT NULL,
  epsilon REAL NOT NULL CHECK (epsilon >= 0),
  t_ns INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS spends_subject ON spends (kind, subject);
"""
# Floating sums of ε drift in the last bits; a spend that reaches the total exactly is allowed.
_SLACK: Final = 1e-9


class Charge(msgspec.Struct, frozen=True, kw_only=True):
    kind: SubjectKind
    subject: str
    epsilon: float


class Spend(msgspec.Struct, frozen=True, kw_only=True):
    release_id: str
    kind: SubjectKind
    subject: str
    epsilon: float
    t_ns: int


class Refusal(msgspec.Struct, frozen=True, kw_only=True):
    kind: SubjectKind
    subject: str
    spent: float
    asked: float
    total: float


def describe_refusals(refusals: Iterable[Refusal]) -> str:
    """One line for a report: how many people and which teams would exceed their budget."""
    people = [r for r in refusals if r.kind == "person"]
    teams = [r for r in refusals if r.kind == "team"]
    parts: list[str] = []
    if people:
        worst = max(people, key=lambda r: r.spent)
        parts.append(
            f"{len(people)} people would exceed their total ε {worst.total:g} "
            f"(most spent so far {worst.spent:g}, this release asks {worst.asked:g})"
        )
    for r in teams:
        parts.append(
            f"team {r.subject!r} would exceed its total ε {r.total:g} "
            f"(spent {r.spent:g}, this release asks {r.asked:g})"
        )
    return "; ".join(parts)


class PrivacyLedger:
    """One ledger file; safe to open from several processes (SQLite transactions)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(path, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)

    def __enter__(self) -> PrivacyLedger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._db.close()

    def spent(self, kind: SubjectKind, subject: str) -> float:
        row = self._db.execute(
            "SELECT COALESCE(SUM(epsilon), 0) FROM spends WHERE kind = ? AND subject = ?",
            (kind, subject),
        ).fetchone()
        return float(row[0])

    def refusals(
        self, charges: Iterable[Charge], totals: Mapping[SubjectKind, float]
    ) -> list[Refusal]:
        """The charges that would take their subject past its total."""
        out: list[Refusal] = []
        for charge in charges:
            total = totals[charge.kind]
            spent = self.spent(charge.kind, charge.subject)
            if spent + charge.epsilon > total + _SLACK:
                out.append(
                    Refusal(
                        kind=charge.kind,
                        subject=charge.subject,
                        spent=round(spent, 9),
                        asked=charge.epsilon,
                        total=total,
                    )
                )
        return out

    def record(
        self,
        release_id: str,
        charges: Iterable[Charge],
        totals: Mapping[SubjectKind, float],
    ) -> list[Refusal]:
        """Check and record every charge of one release in one transaction: all of them, or —
        when any would exceed its total — none, and the refusals are returned."""
        items = list(charges)
        now = time.time_ns()
        self._db.execute("BEGIN IMMEDIATE")
        try:
            refused = self.refusals(items, totals)
            if not refused:
                self._db.executemany(
                    "INSERT INTO spends (release_id, kind, subject, epsilon, t_ns) "
                    "VALUES (?, ?, ?, ?, ?)",
                    [(release_id, c.kind, c.subject, c.epsilon, now) for c in items],
                )
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        return refused

    def entries(self, kind: SubjectKind | None = None, subject: str | None = None) -> list[Spend]:
        """Every spend, oldest first, optionally for one subject."""
        sql = "SELECT release_id, kind, subject, epsilon, t_ns FROM spends"
        args: tuple[str, ...] = ()
        if kind is not None and subject is not None:
            sql += " WHERE kind = ? AND subject = ?"
            args = (kind, subject)
        rows = self._db.execute(sql + " ORDER BY id", args).fetchall()
        return [
            Spend(release_id=r[0], kind=r[1], subject=r[2], epsilon=r[3], t_ns=r[4]) for r in rows
        ]
