"""PERSON and ADDRESS from a learned sequence tagger (a linear-chain CRF), next to the rules.

The rules in ``names``/``addresses`` were shaped on the sentence patterns they were tested on
and miss names and addresses in patterns they never saw; the tagger, trained only on workprint's
own generated texts (``bench/train_pii_tagger.py``), reads word shape, affixes, name and street
lists and two words of context on each side, so it carries over. The model ships in the package
(``models/pii_tagger.crfsuite``), is loaded once per process on first use, and is never fetched.

A tagged span is kept when the tagger is sure of each of its tokens (marginal probability
>= ``MIN_CONFIDENCE``); the scanner takes the union with the rules (docs/privacy.md has the
measurements behind both choices).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any, Final

from workprint.privacy.name_rules import org_list_members
from workprint.privacy.spans import EntityType, Span
from workprint.privacy.tagger_features import sequence_features, tokenize

MODEL_PATH: Final = Path(__file__).resolve().parent / "models" / "pii_tagger.crfsuite"
MIN_CONFIDENCE: Final = 0.7
_TYPES: Final = {"PER": EntityType.PERSON, "ADR": EntityType.ADDRESS}


@cache
def load_tagger(path: Path = MODEL_PATH) -> Any:
    """The pycrfsuite tagger for ``path``, opened once; None when the file is missing (a
    source checkout before training): the rules still run."""
    import pycrfsuite  # type: ignore[import-untyped]

    if not path.is_file():
        return None
    tagger = pycrfsuite.Tagger()
    tagger.open(str(path))
    return tagger


def _spans(labels: list[str]) -> Iterator[tuple[int, int, str]]:
    """(first token, last token + 1, kind) of each B-/I- run."""
    start, kind = -1, ""
    for i, label in enumerate([*labels, "O"]):
        tag, _, name = label.partition("-")
        if start >= 0 and (tag != "I" or name != kind):
            yield start, i, kind
            start = -1
        if tag == "B" or (tag == "I" and start < 0):
            start, kind = i, name


def find_tagged(
    text: str, min_confidence: float = MIN_CONFIDENCE, model: Path = MODEL_PATH
) -> Iterator[Span]:
    """PERSON and ADDRESS spans the tagger finds in ``text``."""
    tagger = load_tagger(model)
    tokens = tokenize(text)
    if tagger is None or not tokens:
        return
    labels: list[str] = tagger.tag(sequence_features(text, tokens))
    for first, end, kind in _spans(labels):
        sure = min(tagger.marginal(labels[i], i) for i in range(first, end))
        span = Span(tokens[first][0], tokens[end - 1][1], _TYPES[kind])
        if sure >= min_confidence and plausible(text, span):
            yield span


_LONG_TOKEN: Final = re.compile(r"[^\s]{26}")
_LETTER_WORD: Final = re.compile(r"[^\W\d_]{2}")


def plausible(text: str, span: Span) -> bool:
    """Shapes the tagger gets wrong and the rules already own, checked after it: a PERSON is
    not all capitals (acronyms and table headers: "SSN", "READY STATUS"; all-caps names are
    the rules' job), holds no digit or line break, is not a line on its own (the rules take
    those, and a lone line in a block is more often a firm) and is not a member of a firm
    list ("Marshall, Hernandez and Simpson"); an ADDRESS has a number and a word; neither
    holds a long unbroken token (hashes, base64)."""
    value = text[span.start : span.end]
    if _LONG_TOKEN.search(value) or not _LETTER_WORD.search(value):
        return False
    if span.type is EntityType.ADDRESS:
        return any(ch.isdigit() for ch in value)
    if value.isupper() or "\n" in value or any(ch.isdigit() for ch in value):
        return False
    line_start = text.rfind("\n", 0, span.start) + 1
    line_end = text.find("\n", span.end)
    line = text[line_start : len(text) if line_end < 0 else line_end]
    if "\n" in text and line.strip(" \t>?*|-•") == value:
        return False
    return not org_list_members(text, span.start, span.end)
