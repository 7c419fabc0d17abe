"""The timing anonymiser's defaults, names and error, importable without numpy or Arrow: the
``workprint`` command imports its CLI module on every start, the recorder's included
(tests/test_recorder_footprint.py)."""

from __future__ import annotations

from typing import Final

from workprint.errors import WorkprintError

DEFAULT_PAUSE_MS: Final = 2000.0  # as the writing builder's pause (builders/writing/config.py)
UTILITY_SPEED_TOLERANCE: Final = 0.10  # the opt-in profile: per-session speed within 10%
DEFAULT_MIN_PEOPLE: Final = 4
MOUSE_COLUMNS: Final = ("path", "t", "x", "y")
CLASSIFIERS: Final = ("centroid", "knn", "forest", "svm", "logreg")
FEATURE_SETS: Final = ("full", "common", "global", "coarse")


class TimingInputError(WorkprintError, ValueError):
    """A keystroke or mouse table the timing anonymiser cannot take as it is."""
