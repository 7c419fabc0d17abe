"""What every importer returns: the events it could read and a precise issue for everything it
could not (file, line, problem). Bad input never stops an import: the valid part is kept."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
import pyarrow as pa

from workprint.events import Event
from workprint.events.columnar import events_to_table


class ImportIssue(msgspec.Struct, frozen=True):
    """One problem in imported input: which file, which line (1-based; None: the whole file)."""

    file: str
    line: int | None
    problem: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where}: {self.problem}"


@dataclass
class ImportResult:
    events: list[Event]
    issues: list[ImportIssue]
    session: str
    metadata: dict[str, Any] = field(default_factory=dict)
    task: str | None = None

    @property
    def ok(self) -> bool:
        return not self.issues

    def table(self) -> pa.Table:
        """The events in the columnar form the builders read."""
        return events_to_table(self.events)


def read_json_object(path: Path, issues: list[ImportIssue]) -> dict[str, Any] | None:
    """A JSON file holding one object, or None (and an issue) if it is missing or malformed."""
    try:
        obj = json.loads(path.read_bytes())
    except FileNotFoundError:
        issues.append(ImportIssue(path.name, None, "missing"))
        return None
    except OSError as exc:
        issues.append(ImportIssue(path.name, None, f"cannot read: {exc.strerror}"))
        return None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        issues.append(ImportIssue(path.name, None, f"not JSON: {exc}"))
        return None
    if not isinstance(obj, dict):
        issues.append(ImportIssue(path.name, None, "not a JSON object"))
        return None
    return obj


def read_jsonl(path: Path, issues: list[ImportIssue]) -> Iterable[tuple[int, dict[str, Any]]]:
    """(line number, object) for every line that is a JSON object; the rest become issues."""
    try:
        handle = path.open("rb")
    except OSError as exc:
        issues.append(ImportIssue(path.name, None, f"cannot read: {exc.strerror}"))
        return
    with handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            try:
                obj = json.loads(raw)
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                issues.append(ImportIssue(path.name, number, f"not JSON: {exc}"))
                continue
            if not isinstance(obj, dict):
                issues.append(ImportIssue(path.name, number, "not a JSON object"))
                continue
            yield number, obj
