"""Anonymisation of keystroke timings and mouse paths, and the re-identification attack that
measures it (docs/privacy-timing.md).

The names below load on first use (numpy and Arrow for the anonymisers, scikit-learn for the
attack): ``workprint.privacy.timing.settings`` stays light for the command line."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from workprint.privacy.timing.settings import UTILITY_SPEED_TOLERANCE, TimingInputError

if TYPE_CHECKING:
    from workprint.privacy.timing.keystrokes import anonymize_keystrokes
    from workprint.privacy.timing.mouse import anonymize_mouse_paths
    from workprint.privacy.timing.reid import ReidReport, evaluate_reid

_LAZY = {
    "anonymize_keystrokes": "keystrokes",
    "anonymize_mouse_paths": "mouse",
    "ReidReport": "reid",
    "evaluate_reid": "reid",
}

__all__ = [
    "UTILITY_SPEED_TOLERANCE",
    "ReidReport",
    "TimingInputError",
    "anonymize_keystrokes",
    "anonymize_mouse_paths",
    "evaluate_reid",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
