"""The statistics behind the re-identification figures (intervals, verdict against 2x chance),
the key-content floor, and the speed-keeping anonymiser options (uniform speed noise, pauses
kept by count)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pv
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workprint.privacy.timing import TimingInputError, anonymize_keystrokes
from workprint.privacy.timing.features import content_features, session_features
from workprint.privacy.timing.sessions import keystroke_sessions
from workprint.privacy.timing.significance import (
    interval,
    person_bootstrap_interval,
    verdict,
    wilson_interval,
)

DATA = Path(__file__).parent / "data" / "keystroke-timing"


def _slice() -> pa.Table:
    return pv.read_csv(DATA / "fixed_text_20users.csv")


@settings(max_examples=200, deadline=None)
@given(probes=st.integers(1, 5000), share=st.floats(0, 1))
def test_wilson_interval_contains_the_estimate_and_stays_in_0_1(probes: int, share: float) -> None:
    correct = round(share * probes)
    low, high = wilson_interval(correct, probes)
    assert 0.0 <= low <= correct / probes <= high <= 1.0


def test_wilson_interval_matches_the_textbook_value_and_narrows_with_more_probes() -> None:
    # 8 of 240 (2x chance at 60 people): the score interval computed by hand from its formula
    p, n, z = 8 / 240, 240, 1.959963984540054
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    assert wilson_interval(8, 240) == pytest.approx((centre - half, centre + half))
    small = wilson_interval(8, 240)
    large = wilson_interval(80, 2400)
    assert large[1] - large[0] < small[1] - small[0]
    assert wilson_interval(0, 0)[0] != wilson_interval(0, 0)[0]  # NaN: no probes, no figure


def test_person_bootstrap_is_wider_when_hits_cluster_in_few_people() -> None:
    probes = np.full(60, 40, dtype=np.int64)  # 60 people, 40 probes each (10 draws x 4)
    spread = np.full(60, 2, dtype=np.int64)  # 120 hits spread evenly
    clustered = np.zeros(60, dtype=np.int64)
    clustered[:3] = 40  # the same 120 hits, all on three people
    even = person_bootstrap_interval(spread, probes)
    lumpy = person_bootstrap_interval(clustered, probes)
    assert even[0] <= 0.05 <= even[1] and lumpy[0] <= 0.05 <= lumpy[1]
    assert lumpy[1] - lumpy[0] > 3 * (even[1] - even[0])
    wide = interval(clustered, probes)
    assert wide[0] <= lumpy[0] and wide[1] >= lumpy[1]
    assert wide[0] <= wilson_interval(120, 2400)[0]


def test_verdict_against_a_target() -> None:
    assert verdict(0.04, 0.09, 0.0333) == "above"
    assert verdict(0.001, 0.03, 0.0333) == "below"
    assert verdict(0.01, 0.06, 0.0333) == "not distinguishable"


def test_key_content_is_the_same_after_anonymising_and_timing_features_are_not() -> None:
    raw = _slice()
    anonymised = anonymize_keystrokes(raw, seed=4)
    before, after = keystroke_sessions(raw), keystroke_sessions(anonymised)
    assert np.array_equal(content_features(before), content_features(after))
    timing_before = session_features(before)
    timing_after = session_features(after)
    common = timing_before.columns("common")
    assert common.shape == timing_after.columns("common").shape
    assert not np.allclose(common, timing_after.columns("common"))
    # "common" drops the rare keys and digraphs whose missing values spell out the text
    assert 0 < len(timing_before.common) < timing_before.matrix.shape[1]


def _pause_counts(table: pa.Table, pause_ms: float = 2000.0) -> dict[tuple[str, str], int]:
    s = keystroke_sessions(table)
    later = ~s.is_first
    flight = s.press[later] - np.roll(s.press, 1)[later]
    counts = np.bincount(s.group[later][flight >= pause_ms], minlength=s.n_groups)
    return {(s.person_names[s.group_person[g]], str(g)): int(c) for g, c in enumerate(counts)}


def test_pauses_kept_by_count_move_but_keep_their_number() -> None:
    raw = _slice()
    anonymised = anonymize_keystrokes(
        raw, seed=9, speed_tolerance=0.1, keep_pauses="count", speed_noise="uniform"
    )
    before, after = _pause_counts(raw), _pause_counts(anonymised)
    assert sum(before.values()) > 10  # the slice has pauses to keep
    assert before == after
    s_raw, s_anon = keystroke_sessions(raw), keystroke_sessions(anonymised)
    later = ~s_raw.is_first
    raw_pause = (s_raw.press[later] - np.roll(s_raw.press, 1)[later]) >= 2000
    anon_pause = (s_anon.press[later] - np.roll(s_anon.press, 1)[later]) >= 2000
    assert (raw_pause & anon_pause).sum() < raw_pause.sum()  # positions were redrawn


def test_unknown_options_are_refused_with_a_reason() -> None:
    with pytest.raises(TimingInputError, match="keep_pauses must be"):
        anonymize_keystrokes(_slice(), seed=1, keep_pauses="where")  # type: ignore[arg-type]
    with pytest.raises(TimingInputError, match="speed_noise must be"):
        anonymize_keystrokes(_slice(), seed=1, speed_noise="gauss")  # type: ignore[arg-type]
