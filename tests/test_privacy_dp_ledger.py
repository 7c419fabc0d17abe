"""k-anonymity counting, OpenDP aggregates with bounded contribution, the ε ledger, and the
release policy file."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workprint.privacy.dp import dp_histogram, dp_sums, even_sample
from workprint.privacy.kanon import check_k_anonymity
from workprint.privacy.ledger import Charge, PrivacyLedger, SubjectKind
from workprint.release.policy import (
    ReleasePolicyError,
    default_policy,
    load_policy,
    parse_policy,
    policy_to_toml,
    save_policy,
)


def test_k_anonymity_counts_people_not_rows_and_hides_values() -> None:
    table = pa.table(
        {
            "person": ["a", "a", "a", "b", "c", "c"],
            "app": ["editor", "editor", "editor", "editor", "chat", "chat"],
        }
    )
    result = check_k_anonymity(table, ["app", "screen_w"], 2, opaque=lambda v: f"h{len(v)}")
    assert result.missing == ("screen_w",) and result.classes == 2 and result.smallest == 1
    assert [(c.people, c.rows) for c in result.violations] == [(1, 2)]
    assert "chat" not in repr(result.violations) and not result.ok
    assert check_k_anonymity(table, ["app"], 1, opaque=str).ok


def test_histogram_epsilon_is_what_opendp_says_and_contribution_is_bounded() -> None:
    heavy = {"a": [10.0] * 1000, "b": [150.0], "c": [150.0]}
    result = dp_histogram("h", heavy, [0.0, 100.0], unit="ms", max_per_person=5, epsilon=1.0)
    assert result.epsilon == pytest.approx(1.0, rel=1e-6)
    assert result.contribution_bound == 5 and result.scale == pytest.approx(5.0, rel=0.01)
    assert result.labels == ("0–100 ms", "≥ 100 ms")
    assert all(v >= 0 for v in result.values)
    assert even_sample(list(range(10)), 5) == [0, 2, 4, 6, 8]


@settings(max_examples=20, deadline=None)
@given(st.floats(min_value=0.05, max_value=5.0), st.floats(min_value=1.0, max_value=1e5))
def test_sums_spend_at_most_the_epsilon_asked(epsilon: float, bound: float) -> None:
    result = dp_sums("s", {"a": {"x": 3 * bound}}, ["x", "y"], bound=bound, epsilon=epsilon)
    assert result.epsilon <= epsilon * (1 + 1e-9)
    assert result.scale >= bound / epsilon * (1 - 1e-6)  # Laplace scale = sensitivity / ε


def test_the_ledger_persists_refuses_past_the_total_and_is_all_or_nothing(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    totals: dict[SubjectKind, float] = {"person": 1.0, "team": 1.5}
    charges = [Charge(kind="person", subject="p1", epsilon=0.6)]
    with PrivacyLedger(path) as ledger:
        assert ledger.record("r1", charges, totals) == []
    with PrivacyLedger(path) as ledger:  # reopened: still there
        assert ledger.spent("person", "p1") == pytest.approx(0.6)
        both = [*charges, Charge(kind="team", subject="t", epsilon=0.6)]
        refused = ledger.record("r2", both, totals)
        assert [(r.subject, r.spent, r.asked, r.total) for r in refused] == [("p1", 0.6, 0.6, 1.0)]
        assert ledger.spent("team", "t") == 0  # nothing of a refused release is recorded
        assert [e.release_id for e in ledger.entries()] == ["r1"]


def test_the_policy_round_trips_and_saves_atomically(tmp_path: Path) -> None:
    policy = parse_policy(
        '[teams]\nops = ["p1", "p2"]\n[apps]\ncategories = { "Code OSS" = "ide" }'
    )
    assert parse_policy(policy_to_toml(policy)) == policy
    path = tmp_path / "release-policy.toml"
    save_policy(policy, path)
    assert load_policy(path) == policy and policy.team_of() == {"p1": "ops", "p2": "ops"}
    assert parse_policy("") == default_policy()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[kanon]\nk = 0", "p.toml: kanon.k: must be ≥ 1, got 0"),
        ('[kanon]\nk = "five"', "p.toml: kanon.k: Expected `int`, got `str`"),
        ('[fields]\ntitles = "hide"', "p.toml: fields.titles: Invalid enum value 'hide'"),
        ("[dp]\nepsilon = -1.0", "p.toml: dp.epsilon: must be a finite number ≥ 0, got -1.0"),
        ("[dp]\nepsilon = inf", "p.toml: dp.epsilon: must be a finite number ≥ 0, got inf"),
        ("[dp]\nepsilonn = 1.0", "p.toml: dp: Object contains unknown field `epsilonn`"),
        ('[teams]\na = ["p1"]\nb = ["p1"]', "p.toml: teams.b: p1 is already in team 'a'"),
        ("[teams]\na = []", "p.toml: teams.a: a team needs at least one person id"),
        ('[fields]\nblock_types = ["SSN"]', "p.toml: fields.block_types: unknown type 'SSN'"),
        ("version = 2", "p.toml: version: unsupported version 2 (this reads 1)"),
        ("[kanon", "p.toml: invalid TOML: "),
    ],
)
def test_a_malformed_policy_gets_a_precise_one_line_error(text: str, message: str) -> None:
    with pytest.raises(ReleasePolicyError) as caught:
        parse_policy(text, "p.toml")
    assert str(caught.value).startswith(message) and "\n" not in str(caught.value)


def test_an_unreadable_or_non_utf8_policy_file(tmp_path: Path) -> None:
    with pytest.raises(ReleasePolicyError, match=r"missing\.toml: cannot read"):
        load_policy(tmp_path / "missing.toml")
    bad = tmp_path / "latin.toml"
    bad.write_bytes(b"# caf\xe9\n")
    with pytest.raises(ReleasePolicyError, match=r"latin.toml: not UTF-8 \(byte 5\)"):
        load_policy(bad)
