"""Re-identification figures in a release's privacy report, measured on the release's own data.

Ten people type the same four sentences (one per session), each at their own per-key rhythm:
the raw timings identify them, the key sequence does not, so after the anonymiser the attack
should be back near chance — and a policy stricter than what is measured blocks the release.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.release_support import (
    SHARED_TEXTS,
    World,
    make_rhythm_world,
    make_world,
    policy,
    rhythm_session_events,
)
from tests.store_support import T0, enrol, table
from workprint.release.policy import ReleasePolicyError, parse_policy, policy_to_toml
from workprint.release.reid import ANONYMISED, REFERENCE, wilson_interval

PEOPLE, SESSIONS = 10, 4


def _report(path: str) -> dict[str, Any]:
    report: dict[str, Any] = json.loads((Path(path) / "privacy-report.json").read_text())
    return report


def _check(report: dict[str, Any], name: str) -> dict[str, Any]:
    return next(c for c in report["checks"] if c["name"] == name)


@pytest.fixture(scope="module")
def rhythm_world(tmp_path_factory: pytest.TempPathFactory) -> World:
    return make_rhythm_world(tmp_path_factory.mktemp("rhythm"), PEOPLE, SESSIONS)


def test_a_writing_release_reports_raw_high_and_anonymised_near_chance(
    rhythm_world: World,
) -> None:
    info = rhythm_world.release(policy(kanon="k = 5\n"), kind="writing", name="essays", seed=7)
    assert info.status == "pending", info.reasons
    report = _report(info.path)
    figures = report["reidentification"]["keystroke_timing"]
    assert figures["measured"] is True
    assert figures["people"] == PEOPLE and figures["sessions"] == PEOPLE * SESSIONS
    assert figures["probes"] == PEOPLE * SESSIONS
    chance = figures["chance"]
    assert chance == pytest.approx(1 / PEOPLE)
    # Each person's per-key rhythm is their own: the raw attack must find most of them.
    assert figures["raw"]["accuracy"] >= 0.7 > 5 * chance
    # Anonymised: near chance for both attackers (the policy's default limit is 2× chance).
    for name in ANONYMISED:
        assert figures[name]["accuracy"] <= 2 * chance, (name, figures[name])
        low, high = figures[name]["ci95"]
        assert low <= figures[name]["accuracy"] <= high
    assert figures["anonymised_x_chance"] == max(figures[n]["x_chance"] for n in ANONYMISED)
    assert figures["max_reid_ratio"] == 2.0
    utility = figures["utility"]
    assert utility["pause_count_total_raw"] >= 0 and utility["flight_ks"] >= 0
    check = _check(report, "reidentification")
    assert check["passed"] and "≤ max_reid_ratio 2" in check["reason"]
    page = (Path(info.path) / "privacy-report.html").read_text(encoding="utf-8")
    assert 'aria-label="top-1 identification accuracy, this release"' in page
    assert "timing-free floor" in page and "block above (2× chance)" in page
    assert f"{figures['raw']['accuracy']:.1%}" in page
    assert "<script" not in page


def test_a_strict_max_reid_ratio_blocks_and_names_the_figure(rhythm_world: World) -> None:
    # 0.2× chance: blocked unless both anonymised attacks get none of the 40 probes right.
    text = "[fields]\nmax_reid_ratio = 0.2\n"
    info = rhythm_world.release(policy(text, kanon="k = 5\n"), kind="writing", name="strict")
    assert info.status == "blocked"
    reason = next(r for r in info.reasons if r.startswith("reidentification: "))
    assert "anonymised_vs_" in reason and "> max_reid_ratio 0.2" in reason
    report = _report(info.path)
    assert not (Path(info.path) / "train.parquet").exists()
    assert _check(report, "privacy_budget")["reason"] == "not reached: a check failed"
    assert report["reidentification"]["keystroke_timing"]["max_reid_ratio"] == 0.2
    page = (Path(info.path) / "privacy-report.html").read_text(encoding="utf-8")
    assert "Why it is blocked" in page and "max_reid_ratio 0.2" in page


def test_text_that_narrows_down_its_typist_blocks_the_release_by_default(
    tmp_path: Path,
) -> None:
    """Each person types the same sentence in every session (two people per sentence): the key
    sequence narrows them to two (3× chance), whatever the anonymiser does to the times: what
    is released still identifies, and the default policy blocks."""
    world = make_world(tmp_path, titles=())
    for p in range(6):
        subject = enrol(world.store, f"Writer {p} Pendlebury")
        events = [
            event
            for s in range(3)
            for event in rhythm_session_events(p, s, SHARED_TEXTS[p % 3], T0 + (p * 3 + s) * 10**12)
        ]
        world.store.ingest(subject.principal, f"w{p}", table(events))
    info = world.release(policy(kanon="k = 5\n"), kind="writing", name="own-words", seed=3)
    assert info.status == "blocked"
    reason = next(r for r in info.reasons if r.startswith("reidentification: "))
    figures = _report(info.path)["reidentification"]["keystroke_timing"]
    assert figures["anonymised_x_chance"] > 2.0
    assert f"= {figures['anonymised_x_chance']:g}× chance" in reason
    assert reason.endswith("> max_reid_ratio 2") or "key sequence itself" in reason


def test_too_few_sessions_per_person_says_why_and_quotes_labelled_reference_figures(
    tmp_path: Path,
) -> None:
    world = make_world(tmp_path, titles=("report",) * 5)  # five people, one session each
    info = world.release(policy(kanon="k = 5\n"), kind="writing", name="one-each", seed=1)
    assert info.status == "pending", info.reasons
    report = _report(info.path)
    figures = report["reidentification"]["keystroke_timing"]
    assert figures["measured"] is False
    assert figures["why"].startswith("0 of 5 people have ≥ 2 sessions")
    assert "at most 1 session per person" in figures["why"]
    assert figures["reference"] == REFERENCE
    assert "NOT this release's" in figures["reference"]["label"]
    check = _check(report, "reidentification")
    assert check["passed"] and "not measured on this release" in check["reason"]
    page = (Path(info.path) / "privacy-report.html").read_text(encoding="utf-8")
    assert "REFERENCE (fixed_text.csv), not this release" in page
    assert "bench/privacy_reid.py" in page


def test_an_actions_release_states_what_was_done_to_mouse_paths(tmp_path: Path) -> None:
    world = make_world(tmp_path)
    info = world.release(policy(), name="paths")
    assert info.status == "pending", info.reasons
    section = _report(info.path)["reidentification"]
    mouse = section["mouse_paths"]
    assert mouse["applies"] and mouse["paths"] >= 1 and mouse["measured"] is False
    assert "endpoints kept" in mouse["done"] and "re-synthesised" in mouse["done"]
    assert "no multi-person mouse data set" in mouse["why"]
    assert section["keystroke_timing"]["measured"] is False
    page = (Path(info.path) / "privacy-report.html").read_text(encoding="utf-8")
    assert "<h3>Mouse paths</h3>" in page and "no multi-person mouse data set" in page


def test_a_writing_release_that_drops_timings_measures_nothing_and_says_so(
    tmp_path: Path,
) -> None:
    world = make_world(tmp_path, titles=("report",) * 5)
    info = world.release(policy('[fields]\ntiming = "drop"\n', kanon="k = 5\n"), kind="writing")
    check = _check(_report(info.path), "reidentification")
    assert check["passed"] and check["reason"].startswith("no per-key timings published")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("0", "fields.max_reid_ratio: must be a finite number > 0, got 0"),
        ("-1.5", "fields.max_reid_ratio: must be a finite number > 0, got -1.5"),
        ("inf", "fields.max_reid_ratio: must be a finite number > 0, got inf"),
        ("nan", "fields.max_reid_ratio: must be a finite number > 0, got nan"),
        ('"high"', "fields.max_reid_ratio: Expected `float`, got `str`"),
    ],
)
def test_a_bad_max_reid_ratio_is_a_one_line_error_naming_file_and_key(
    value: str, message: str
) -> None:
    with pytest.raises(ReleasePolicyError) as caught:
        parse_policy(f"[fields]\nmax_reid_ratio = {value}\n", "p.toml")
    assert str(caught.value) == f"p.toml: {message}"


def test_max_reid_ratio_round_trips_through_toml() -> None:
    loaded = parse_policy("[fields]\nmax_reid_ratio = 3\n", "p.toml")
    assert loaded.fields.max_reid_ratio == 3.0
    assert parse_policy(policy_to_toml(loaded)) == loaded


@pytest.mark.parametrize(("correct", "probes"), [(0, 10), (5, 10), (10, 10), (7, 40)])
def test_the_wilson_interval_holds_the_observed_rate(correct: int, probes: int) -> None:
    low, high = wilson_interval(correct, probes)
    assert 0.0 <= low <= correct / probes <= high <= 1.0
    assert high - low < 1.0
