"""Labelled corpora for evaluation: presidio-research's synthetic set and workprint's own.

Both are read into ``Example``s whose gold spans use workprint's types. The presidio labels are
mapped as documented in docs/privacy.md; labels workprint does not redact (ORGANIZATION, NRP,
TITLE, AGE, DOMAIN_NAME, place names outside an address, dates that are not birth dates) are
kept as ``out_of_scope`` regions so that scoring can count a detection there as a false
positive rather than forget it.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from workprint.errors import WorkprintError
from workprint.privacy.spans import EntityType, Span

SPLIT_SEED: Final = 20261123


class CorpusError(WorkprintError):
    """A corpus file that cannot be read or does not have the expected form."""


PRESIDIO_TYPES: Final[dict[str, EntityType]] = {
    "PERSON": EntityType.PERSON,
    "EMAIL_ADDRESS": EntityType.EMAIL,
    "PHONE_NUMBER": EntityType.PHONE,
    "CREDIT_CARD": EntityType.CREDIT_CARD,
    "US_SSN": EntityType.GOV_ID,
    "US_DRIVER_LICENSE": EntityType.GOV_ID,
    "IBAN_CODE": EntityType.IBAN,
    "IP_ADDRESS": EntityType.IP_ADDRESS,
    "STREET_ADDRESS": EntityType.ADDRESS,
    "ZIP_CODE": EntityType.ADDRESS,
}
# GPE becomes ADDRESS next to an address part; DATE_TIME becomes DATE_OF_BIRTH after a cue.
_GAP: Final = re.compile(r"[\s,.;:()>|?-]*")
_BIRTH_CUE: Final = re.compile(r"\b(?:born|birth|birthday|dob)\b[^\d]{0,50}$", re.IGNORECASE)


@dataclass
class Example:
    """One text with its gold spans (workprint types) and out-of-scope labelled regions."""

    text: str
    gold: list[Span]
    out_of_scope: list[tuple[int, int, str]] = field(default_factory=list)
    group: str = ""  # template id or record kind: the unit of the dev/test split


def merge_adjacent(text: str, spans: list[Span]) -> list[Span]:
    """Gold parts of one type separated only by spaces/punctuation are one region (a street
    line, its city and its postcode are one address)."""
    merged: list[Span] = []
    for span in sorted(spans):
        prev = merged[-1] if merged else None
        if (
            prev is not None
            and prev.type == span.type
            and span.start >= prev.end
            and _GAP.fullmatch(text, prev.end, span.start)
        ) or (prev is not None and prev.type == span.type and span.start < prev.end):
            merged[-1] = Span(prev.start, max(prev.end, span.end), prev.type)
        else:
            merged.append(span)
    return merged


def map_presidio(text: str, labels: list[dict[str, Any]]) -> Example:
    gold: list[Span] = []
    pending: list[tuple[int, int, str]] = []
    for label in labels:
        kind, start, end = label["entity_type"], label["start_position"], label["end_position"]
        mapped = PRESIDIO_TYPES.get(kind)
        if mapped is not None:
            gold.append(Span(start, end, mapped))
        elif kind == "DATE_TIME" and _BIRTH_CUE.search(text, max(0, start - 60), start):
            gold.append(Span(start, end, EntityType.DATE_OF_BIRTH))
        else:
            pending.append((start, end, kind))
    changed = True
    while changed:  # place names chained to an address ("Espoo\nFinland 02100") join it
        changed = False
        addresses = [s for s in gold if s.type is EntityType.ADDRESS]
        for item in list(pending):
            start, end, kind = item
            if kind != "GPE":
                continue
            if any(
                _GAP.fullmatch(text, min(a.end, end), max(a.start, start))
                for a in addresses
                if a.end <= start or end <= a.start
            ):
                gold.append(Span(start, end, EntityType.ADDRESS))
                pending.remove(item)
                changed = True
    return Example(text, merge_adjacent(text, gold), pending)


def load_presidio(path: Path) -> list[Example]:
    """presidio-research's ``synth_dataset_v2.json`` (``full_text``, ``spans``)."""
    records = json.loads(path.read_text(encoding="utf-8"))
    examples = []
    for record in records:
        example = map_presidio(record["full_text"], record["spans"])
        example.group = f"template-{record.get('template_id', '')}"
        examples.append(example)
    return examples


_MARK: Final = re.compile(r"⟦([A-Z_]+):(.*?)⟧", re.DOTALL)
_RECORD: Final = re.compile(r"^§§ *(\S+)[^\n]*\n", re.MULTILINE)


def parse_marked(marked: str) -> tuple[str, list[Span]]:
    """``Hi ⟦PERSON:Anna⟧`` -> ("Hi Anna", [Span(3, 7, PERSON)])."""
    parts: list[str] = []
    spans: list[Span] = []
    pos = length = 0
    for m in _MARK.finditer(marked):
        parts.append(marked[pos : m.start()])
        length += m.start() - pos
        value = m.group(2)
        spans.append(Span(length, length + len(value), EntityType(m.group(1))))
        parts.append(value)
        length += len(value)
        pos = m.end()
    parts.append(marked[pos:])
    return "".join(parts), spans


def load_marked(path: Path) -> list[Example]:
    """workprint's own corpus: records start with a ``§§ kind`` line; values are marked
    ``⟦TYPE:value⟧`` in place. A record's trailing newline is not part of it."""
    content = path.read_text(encoding="utf-8")
    heads = list(_RECORD.finditer(content))
    examples = []
    for i, head in enumerate(heads):
        end = heads[i + 1].start() if i + 1 < len(heads) else len(content)
        text, gold = parse_marked(content[head.end() : end].removesuffix("\n"))
        examples.append(Example(text, gold, group=head.group(1)))
    return examples


def load_corpus(path: Path) -> list[Example]:
    """By suffix: ``.json`` presidio-research format, anything else the marked format."""
    try:
        return load_presidio(path) if path.suffix == ".json" else load_marked(path)
    except OSError as exc:
        raise CorpusError(f"corpus {path}: {exc.strerror or exc}") from exc
    except (ValueError, KeyError, TypeError) as exc:
        raise CorpusError(f"corpus {path}: not a labelled corpus ({exc})") from exc


def split_groups(examples: list[Example], split: str, seed: int = SPLIT_SEED) -> list[Example]:
    """``dev``/``test``: half of the groups each (templates, so no sentence pattern is in both),
    chosen by a fixed seed; ``all``: everything."""
    if split == "all":
        return examples
    groups = sorted({e.group for e in examples})
    random.Random(seed).shuffle(groups)
    chosen = set(groups[: len(groups) // 2] if split == "dev" else groups[len(groups) // 2 :])
    return [e for e in examples if e.group in chosen]
