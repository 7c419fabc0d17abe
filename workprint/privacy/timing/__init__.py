"""Anonymisation of keystroke timings and mouse paths, and the re-identification attack that
measures it (docs/privacy-timing.md).

The attack (``evaluate_reid``) loads scikit-learn on first use; the anonymisers need only numpy
and Arrow."""

from workprint.privacy.timing.keystrokes import UTILITY_SPEED_TOLERANCE, anonymize_keystrokes
from workprint.privacy.timing.mouse import anonymize_mouse_paths
from workprint.privacy.timing.reid import ReidReport, evaluate_reid
from workprint.privacy.timing.sessions import TimingInputError

__all__ = [
    "UTILITY_SPEED_TOLERANCE",
    "ReidReport",
    "TimingInputError",
    "anonymize_keystrokes",
    "anonymize_mouse_paths",
    "evaluate_reid",
]
