"""The re-identification attack on keystroke timings, and the evaluation of the anonymiser.

Closed-set identification: every person has several sessions; in fold j each person's j-th
session is the probe and their other sessions train the attacker (leave-one-session-out). The
top-1 accuracy is measured in three settings: raw → raw (how identifying the raw data is),
raw-trained attacker on anonymised probes (someone holding old raw recordings), and an attacker
trained on anonymised sessions tested on other anonymised sessions (Kloak's stronger attacker,
who learns whatever survives the anonymiser). Several classifiers and feature sets are run;
the report gives each and the best, next to chance (1 / people).
"""

from __future__ import annotations

import secrets
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Final

import numpy as np
import pyarrow as pa

from workprint.privacy.timing.features import SessionFeatures, session_features
from workprint.privacy.timing.keystrokes import anonymize_keystrokes
from workprint.privacy.timing.sessions import FloatArray, IntArray, keystroke_sessions
from workprint.privacy.timing.settings import CLASSIFIERS, DEFAULT_PAUSE_MS, FEATURE_SETS
from workprint.privacy.timing.utility import UtilityFigures, utility_figures

SCENARIOS: Final = (
    "raw",
    "anonymised_vs_raw_trained",
    "anonymised_vs_anonymised_trained",
    "timing_free_floor",
)


def make_classifier(name: str, seed: int) -> Any:
    """A scikit-learn estimator; hyperparameters picked on the raw 60-person data set
    (docs/privacy-timing.md), where they are the strongest of those we tried."""
    from sklearn.ensemble import ExtraTreesClassifier  # type: ignore[import-untyped]
    from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]
    from sklearn.neighbors import KNeighborsClassifier, NearestCentroid  # type: ignore[import-untyped]
    from sklearn.pipeline import make_pipeline  # type: ignore[import-untyped]
    from sklearn.preprocessing import RobustScaler, StandardScaler  # type: ignore[import-untyped]
    from sklearn.svm import SVC  # type: ignore[import-untyped]

    if name == "centroid":  # scaled Manhattan distance to each person's mean (Killourhy-Maxion)
        return make_pipeline(RobustScaler(), NearestCentroid(metric="manhattan"))
    if name == "knn":
        return make_pipeline(RobustScaler(), KNeighborsClassifier(1, metric="manhattan"))
    if name == "forest":
        return ExtraTreesClassifier(n_estimators=300, random_state=seed, n_jobs=1)
    if name == "svm":
        return make_pipeline(StandardScaler(), SVC(C=10.0, gamma="scale"))
    if name == "logreg":
        return make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=3000))
    raise ValueError(f"unknown classifier {name!r}; choose from {', '.join(CLASSIFIERS)}")


@dataclass(frozen=True)
class AttackResult:
    scenario: str
    classifier: str
    features: str
    correct: int
    probes: int

    @property
    def accuracy(self) -> float:
        return self.correct / self.probes if self.probes else float("nan")


@dataclass
class ReidReport:
    people: int
    sessions: int
    probes: int
    seed: int
    results: list[AttackResult] = field(default_factory=list)
    utility: UtilityFigures | None = None

    @property
    def chance(self) -> float:
        return 1.0 / self.people if self.people else float("nan")

    def best(self, scenario: str) -> AttackResult:
        """The strongest attack in a scenario (max over classifiers and feature sets)."""
        return max((r for r in self.results if r.scenario == scenario), key=lambda r: r.correct)

    def table(self) -> str:
        """The figures as a readable table: best attack per scenario next to chance, then
        the utility figures."""
        chance = self.chance
        lines = [
            f"{self.people} people, {self.sessions} sessions, {self.probes} probes "
            f"(leave-one-session-out), seed {self.seed}",
            f"{'scenario':<36} {'top-1':>7} {'x chance':>9}  best attack",
        ]
        for name in SCENARIOS:
            if not any(r.scenario == name for r in self.results):
                continue
            best = self.best(name)
            lines.append(
                f"{name:<36} {best.accuracy:>7.1%} {best.accuracy / chance:>9.2f}  "
                f"{best.classifier}/{best.features} ({best.correct}/{best.probes})"
            )
        lines.append(f"{'chance':<36} {chance:>7.1%} {1.0:>9.2f}")
        if self.utility is not None:
            u = self.utility
            lines += [
                "",
                f"typing speed error per session: mean {u.speed_error_mean:.1%}, "
                f"max {u.speed_error_max:.1%}",
                f"pause count error per session: mean {u.pause_count_error_mean:.2f} "
                f"(total {u.pause_count_total_raw} raw, {u.pause_count_total_anonymised} "
                "anonymised)",
                f"hold distribution: KS {u.hold_ks:.3f}, W1 {u.hold_wasserstein_ms:.1f} ms",
                f"flight distribution: KS {u.flight_ks:.3f}, W1 {u.flight_wasserstein_ms:.1f} ms",
            ]
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        return {
            "people": self.people,
            "sessions": self.sessions,
            "probes": self.probes,
            "seed": self.seed,
            "chance": self.chance,
            "best": {
                name: {**asdict(self.best(name)), "accuracy": self.best(name).accuracy}
                for name in SCENARIOS
                if any(r.scenario == name for r in self.results)
            },
            "attacks": [{**asdict(r), "accuracy": r.accuracy} for r in self.results],
            "utility": self.utility.as_dict() if self.utility else None,
        }


def timing_free(table: pa.Table, seed: int) -> pa.Table:
    """The same key sequences with every flight and hold shuffled across the whole table: no
    timing links to anyone. Attacking it measures what the key sequence alone gives away — a
    floor no anonymiser that keeps key order can go below."""
    rng = np.random.default_rng(seed)
    s = keystroke_sessions(table)
    later = ~s.is_first
    steps = np.zeros(len(s.row))
    steps[later] = rng.permutation(s.press[later] - np.roll(s.press, 1)[later])
    cumulative = np.cumsum(steps)
    press = (
        np.repeat(s.press[s.starts], s.sizes)
        + cumulative
        - np.repeat(cumulative[s.starts], s.sizes)
    )
    release = press + rng.permutation(s.release - s.press)
    new_press, new_release = np.empty(len(press)), np.empty(len(press))
    new_press[s.row], new_release[s.row] = press, release
    result = table.set_column(
        table.column_names.index("timepress"), "timepress", pa.array(new_press)
    )
    return result.set_column(
        result.column_names.index("timerelease"), "timerelease", pa.array(new_release)
    )


def session_folds(person: IntArray) -> IntArray:
    """Rank of each session among its person's sessions; fold j probes rank j. A person with
    one session only trains (−1: never probed)."""
    rank = np.zeros(len(person), dtype=np.int64)
    counts: dict[int, int] = {}
    for index, who in enumerate(person.tolist()):
        rank[index] = counts.get(who, 0)
        counts[who] = rank[index] + 1
    single = np.array([counts[who] == 1 for who in person.tolist()], dtype=np.bool_)
    rank[single] = -1
    return rank


def _run_attack(
    classifier: str,
    train_x: FloatArray,
    probe_x: FloatArray,
    person: IntArray,
    folds: IntArray,
    seed: int,
) -> tuple[int, int]:
    correct = probes = 0
    for fold in range(int(folds.max(initial=-1)) + 1):
        probe = folds == fold
        train = ~probe
        model = make_classifier(classifier, seed)
        with warnings.catch_warnings():
            # Constant features (a key nobody in a fold pressed twice) are expected here.
            warnings.simplefilter("ignore", UserWarning)
            model.fit(train_x[train], person[train])
        predicted = np.asarray(model.predict(probe_x[probe]))
        correct += int((predicted == person[probe]).sum())
        probes += int(probe.sum())
    return correct, probes


def evaluate_reid(
    table: pa.Table,
    *,
    seed: int | None = None,
    classifiers: tuple[str, ...] = CLASSIFIERS,
    feature_sets: tuple[str, ...] = FEATURE_SETS,
    pause_ms: float = DEFAULT_PAUSE_MS,
    anonymize: Callable[[pa.Table, int], pa.Table] | None = None,
    floor: bool = True,
    progress: Callable[[str], None] | None = None,
) -> ReidReport:
    """Anonymise ``table`` once and run every (classifier, feature set) attack in the three
    scenarios; also the utility figures. ``anonymize(table, seed)`` replaces the workprint
    anonymiser (to evaluate another one, e.g. random delays, on the same footing). ``floor``
    adds the attack on a timing-free copy (``timing_free``)."""
    seed = secrets.randbits(32) if seed is None else seed
    for name in classifiers:
        make_classifier(name, seed)
    raw_sessions = keystroke_sessions(table)
    if anonymize is None:
        anonymised_table = anonymize_keystrokes(table, seed=seed, pause_ms=pause_ms)
    else:
        anonymised_table = anonymize(table, seed)
    anon_sessions = keystroke_sessions(anonymised_table)
    raw = session_features(raw_sessions, pause_ms=pause_ms)
    anon = session_features(anon_sessions, pause_ms=pause_ms)
    folds = session_folds(raw.person)
    report = ReidReport(
        people=len(set(raw.person.tolist())),
        sessions=len(raw.person),
        probes=int((folds >= 0).sum()),
        seed=seed,
        utility=utility_figures(raw_sessions, anon_sessions, pause_ms),
    )
    views: dict[str, tuple[SessionFeatures, SessionFeatures]] = {
        "raw": (raw, raw),
        "anonymised_vs_raw_trained": (raw, anon),
        "anonymised_vs_anonymised_trained": (anon, anon),
    }
    if floor:
        free = session_features(keystroke_sessions(timing_free(table, seed)), pause_ms=pause_ms)
        views["timing_free_floor"] = (free, free)
    for scenario, (train, probe) in views.items():
        for feature_set in feature_sets:
            for classifier in classifiers:
                correct, probes = _run_attack(
                    classifier,
                    train.columns(feature_set),
                    probe.columns(feature_set),
                    raw.person,
                    folds,
                    seed,
                )
                report.results.append(
                    AttackResult(scenario, classifier, feature_set, correct, probes)
                )
                if progress is not None:
                    progress(f"{scenario} {classifier}/{feature_set}: {correct}/{probes}")
    return report
