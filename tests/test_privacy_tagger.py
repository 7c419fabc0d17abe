"""The learned PERSON/ADDRESS tagger: the shipped model, its determinism, what it finds."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from workprint.privacy import EntityType, scan_text, scanner
from workprint.privacy.tagger import MODEL_PATH, _spans, find_tagged, load_tagger
from workprint.privacy.tagger_features import tokenize
from workprint.privacy.tagger_training import bio_labels, generate, train

T = EntityType


def found(text: str) -> list[tuple[str, EntityType]]:
    return [(text[s.start : s.end], s.type) for s in find_tagged(text)]


def test_the_shipped_model_loads_and_is_small() -> None:
    assert MODEL_PATH.is_file()
    assert MODEL_PATH.stat().st_size < 5_000_000
    assert load_tagger() is not None


def test_generation_and_training_are_deterministic(tmp_path: Path) -> None:
    first, second = generate(250, seed=11), generate(250, seed=11)
    assert first == second
    assert generate(50, seed=12) != first[:50]
    a, b = tmp_path / "a.crfsuite", tmp_path / "b.crfsuite"
    train(first, a, max_iterations=15)
    train(second, b, max_iterations=15)
    assert a.read_bytes() == b.read_bytes()


def test_generated_labels_cover_whole_values() -> None:
    for text, spans in generate(200, seed=3):
        _, labels = bio_labels(text, spans)
        assert len(labels) == len(tokenize(text))
        begins = sum(label.startswith("B-") for label in labels)
        assert begins == len(spans), text


def test_tags_names_and_addresses_in_sentences_it_never_saw() -> None:
    text = "Quarterly figures were checked by Wojciech Zielonka before the board met."
    assert ("Wojciech Zielonka", T.PERSON) in found(text)
    text = "The keys are with the concierge at Kastanienallee 12, 10435 Berlin."
    assert any(kind is T.ADDRESS and "Kastanienallee 12" in value for value, kind in found(text))


def test_leaves_look_alikes_alone() -> None:
    for text in (
        "Bump numpy to 1.26.4 and rerun commit 3f9c2ab on main.",
        "Order #88341 shipped on 2024-03-05 12:41:07.",
        "Install Visual Studio Code and open the Docker Desktop settings.",
    ):
        assert found(text) == [], text


def test_a_missing_model_leaves_the_rules(tmp_path: Path) -> None:
    text = "Dear Anna Berg, thanks."
    assert list(find_tagged(text, model=tmp_path / "none.crfsuite")) == []
    assert [s.type for s in scan_text(text)] == [T.PERSON]


LABELS = st.sampled_from(["O", "B-PER", "I-PER", "B-ADR", "I-ADR"])


@given(st.lists(LABELS, max_size=30))
def test_label_runs_are_disjoint_and_typed(labels: list[str]) -> None:
    runs = list(_spans(labels))
    for (_, end, _), (start, _, _) in itertools.pairwise(runs):
        assert end <= start
    for start, end, kind in runs:
        assert {label.partition("-")[2] for label in labels[start:end]} == {kind}
    assert sum(end - start for start, end, _ in runs) == sum(x != "O" for x in labels)


def test_the_scanner_adds_tagged_spans_only_where_the_rules_found_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    text = "Quarterly figures were checked by Wojciech Zielonka before the board met. Call Anna."
    rules_only = scan_text(text)
    monkeypatch.setattr(scanner, "USE_TAGGER", True)
    both = scan_text(text)
    assert set(rules_only) <= set(both)
    assert ("Wojciech Zielonka", T.PERSON) in [(text[s.start : s.end], s.type) for s in both]
    assert scan_text("Order #88341 shipped on 2024-03-05, build 3f9c2ab.") == []
    assert scan_text(text, frozenset({T.EMAIL})) == []
