"""The dataset card every export writes (README.md): a YAML header a Hugging Face Hub or a
script can read, then prose saying what the data is, from how many people and hours, on which
consent scopes, built by which builder version with which thresholds, and which privacy
transforms were applied — "none" is said explicitly, never left out."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import msgspec
import pyarrow as pa
import pyarrow.compute as pc

from workprint.builders.actions import BUILDER_NAME, BUILDER_VERSION


class DatasetCard(msgspec.Struct, kw_only=True):
    name: str
    description: str
    kind: str = "computer-use actions"
    source: str = "workprint recordings"
    people: int | None = None
    hours: float | None = None
    scopes: tuple[str, ...] = ()
    consent: str = "each person's workprint consent record, per scope"
    builder: str = BUILDER_NAME
    builder_version: str = BUILDER_VERSION
    thresholds: dict[str, Any] = {}
    privacy_transforms: tuple[str, ...] = ()
    action_format: str | None = None
    license: str = "other"
    extra: dict[str, Any] = {}


class CardStats:
    """Counts gathered while streaming batches: rows, and — for tables with ``session``,
    ``t_start``/``t_end`` and ``kind`` columns — sessions, recorded span and kinds."""

    def __init__(self) -> None:
        self.rows = 0
        self.spans: dict[str, tuple[int, int]] = {}
        self.kinds: dict[str, int] = {}

    def update(self, batch: pa.Table) -> None:
        self.rows += batch.num_rows
        names = set(batch.column_names)
        if {"session", "t_start", "t_end"} <= names and batch.num_rows:
            grouped = batch.group_by("session").aggregate([("t_start", "min"), ("t_end", "max")])
            for s, lo, hi in zip(*(grouped.column(i).to_pylist() for i in range(3)), strict=True):
                old = self.spans.get(s)
                self.spans[s] = (lo, hi) if old is None else (min(old[0], lo), max(old[1], hi))
        if "kind" in names and batch.num_rows:
            counts = pc.value_counts(batch.column("kind")).to_pylist()
            for item in counts:
                self.kinds[item["values"]] = self.kinds.get(item["values"], 0) + item["counts"]

    @property
    def hours(self) -> float:
        return sum(hi - lo for lo, hi in self.spans.values()) / 3.6e12


def _size_category(rows: int) -> str:
    for limit, name in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K")):
        if rows < limit:
            return name
    return "100K<n<1M" if rows < 1_000_000 else "1M<n<10M" if rows < 10_000_000 else "n>10M"


def _yaml(key: str, value: Any) -> str:
    """One YAML line; values in JSON flow style, which YAML reads as the same objects."""
    return f"{key}: {json.dumps(value, ensure_ascii=False, sort_keys=True)}"


def render_card(
    card: DatasetCard, stats: CardStats, data_files: Sequence[str], file_format: str
) -> str:
    hours = card.hours if card.hours is not None else round(stats.hours, 3)
    transforms = list(card.privacy_transforms) or ["none"]
    header = [
        "---",
        _yaml("pretty_name", card.name),
        _yaml("license", card.license),
        _yaml("tags", ["workprint", "computer-use", card.kind.replace(" ", "-")]),
        _yaml("size_categories", [_size_category(stats.rows)]),
        _yaml(
            "configs",
            [
                {
                    "config_name": "default",
                    "data_files": [{"split": "train", "path": list(data_files)}],
                }
            ],
        ),
        _yaml(
            "workprint",
            {
                "kind": card.kind,
                "source": card.source,
                "rows": stats.rows,
                "sessions": len(stats.spans) or None,
                "people": card.people,
                "hours": hours,
                "consent_scopes": list(card.scopes),
                "consent": card.consent,
                "builder": card.builder,
                "builder_version": card.builder_version,
                "thresholds": card.thresholds,
                "privacy_transforms": transforms,
                "action_format": card.action_format,
                "file_format": file_format,
                "kinds": stats.kinds or None,
                **card.extra,
            },
        ),
        "---",
    ]
    people = "an unknown number of" if card.people is None else str(card.people)
    kinds = ", ".join(f"{k} {n}" for k, n in sorted(stats.kinds.items())) or "—"
    body = [
        f"# {card.name}",
        "",
        card.description,
        "",
        "## What is in it",
        "",
        f"- {stats.rows} rows of {card.kind} ({file_format}), from {people} people, "
        f"{len(stats.spans) or 'unknown'} sessions and {hours} hours of recording.",
        f"- Kinds: {kinds}.",
        f"- Source: {card.source}.",
        f"- Action format: {card.action_format or 'the workprint action record'}.",
        "",
        "## Consent",
        "",
        f"Collected under: {card.consent}. Scopes: {', '.join(card.scopes) or 'none recorded'}.",
        "",
        "## How it was built",
        "",
        f"Builder `{card.builder}` version {card.builder_version}, thresholds:",
        "",
        *(f"- `{k}` = {v}" for k, v in sorted(card.thresholds.items())),
        "",
        "## Privacy transforms applied",
        "",
        *(f"- {t}" for t in transforms),
        "",
        f"Files: {', '.join(data_files)}.",
        "",
    ]
    return "\n".join([*header, "", *body])
