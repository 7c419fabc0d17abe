"""Span-level recall and precision per type, with one documented overlap rule.

A detection matches a gold region when they have the same type and their overlap covers at
least half of each (so "Dr. Anna Berg" matches "Anna Berg", but "Anna" alone does not match
"Anna Berg", and a detection spanning a whole paragraph matches nothing). Recall counts gold
regions matched, precision counts detections matched; a detection over an out-of-scope label
(an organisation, a country named alone) or over nothing is a false positive. ``leaked_chars``
is the privacy view: the share of gold characters covered by no detection of any type.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from workprint.privacy.corpus import Example
from workprint.privacy.spans import EntityType, Span


def spans_match(a: Span, b: Span) -> bool:
    """Same type and overlap >= half of each span's length."""
    if a.type != b.type:
        return False
    overlap = min(a.end, b.end) - max(a.start, b.start)
    return overlap > 0 and 2 * overlap >= (a.end - a.start) and 2 * overlap >= (b.end - b.start)


@dataclass
class Counts:
    """Gold regions, gold regions found, detections, detections that were right."""

    gold: int = 0
    found: int = 0
    predicted: int = 0
    correct: int = 0

    @property
    def recall(self) -> float:
        return self.found / self.gold if self.gold else 1.0

    @property
    def precision(self) -> float:
        return self.correct / self.predicted if self.predicted else 1.0


@dataclass
class Report:
    """Per-type counts, their sum, the leaked-character share, and every miss and false
    positive (text, span) for inspection."""

    per_type: dict[EntityType, Counts] = field(default_factory=dict)
    gold_chars: int = 0
    leaked_chars: int = 0
    misses: list[tuple[str, Span]] = field(default_factory=list)
    false_positives: list[tuple[str, Span]] = field(default_factory=list)

    @property
    def overall(self) -> Counts:
        total = Counts()
        for c in self.per_type.values():
            total.gold += c.gold
            total.found += c.found
            total.predicted += c.predicted
            total.correct += c.correct
        return total

    @property
    def leak_rate(self) -> float:
        return self.leaked_chars / self.gold_chars if self.gold_chars else 0.0

    def table(self) -> str:
        """A Markdown table: type, gold, recall, detections, precision."""
        lines = ["| type | gold | recall | detections | precision |", "|---|---:|---:|---:|---:|"]
        for entity in EntityType:
            c = self.per_type.get(entity)
            if c is None or (c.gold == 0 and c.predicted == 0):
                continue
            row = (entity.value, c.gold, f"{c.recall:.3f}", c.predicted, f"{c.precision:.3f}")
            lines.append("| " + " | ".join(map(str, row)) + " |")
        o = self.overall
        row = ("**overall**", o.gold, f"**{o.recall:.3f}**", o.predicted, f"**{o.precision:.3f}**")
        lines.append("| " + " | ".join(map(str, row)) + " |")
        return "\n".join(lines)


def evaluate(examples: Sequence[Example], scan: Callable[[str], list[Span]]) -> Report:
    """Run ``scan`` over every example and count as described in the module docstring."""
    report = Report()
    for example in examples:
        predicted = scan(example.text)
        for entity in {s.type for s in example.gold} | {s.type for s in predicted}:
            report.per_type.setdefault(entity, Counts())
        for g in example.gold:
            c = report.per_type[g.type]
            c.gold += 1
            if any(spans_match(p, g) for p in predicted):
                c.found += 1
            else:
                report.misses.append((example.text, g))
        for p in predicted:
            c = report.per_type[p.type]
            c.predicted += 1
            if any(spans_match(p, g) for g in example.gold):
                c.correct += 1
            else:
                report.false_positives.append((example.text, p))
        covered: set[int] = set()
        for p in predicted:
            covered.update(range(p.start, p.end))
        for g in example.gold:
            chars = [i for i in range(g.start, g.end) if not example.text[i].isspace()]
            report.gold_chars += len(chars)
            report.leaked_chars += sum(i not in covered for i in chars)
    return report
