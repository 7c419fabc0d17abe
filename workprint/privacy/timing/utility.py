"""What an anonymised keystroke table still offers a statistics model, measured against the raw.

Typing speed per session, pause count per session, and the pooled hold and flight
distributions (Kolmogorov–Smirnov statistic and the 1-Wasserstein distance in ms).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from workprint.privacy.timing.sessions import FloatArray, KeystrokeSessions


@dataclass(frozen=True)
class UtilityFigures:
    speed_error_mean: float  # mean over sessions of |speed_anon / speed_raw - 1|
    speed_error_max: float
    pause_count_error_mean: float  # mean over sessions of |pauses_anon - pauses_raw|
    pause_count_total_raw: int
    pause_count_total_anonymised: int
    hold_ks: float
    hold_wasserstein_ms: float
    flight_ks: float
    flight_wasserstein_ms: float

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


def ks_statistic(a: FloatArray, b: FloatArray) -> float:
    """Largest gap between the two empirical CDFs."""
    if len(a) == 0 or len(b) == 0:
        return float("nan")
    a, b = np.sort(a), np.sort(b)
    points = np.concatenate((a, b))
    gap = np.searchsorted(a, points, side="right") / len(a) - np.searchsorted(
        b, points, side="right"
    ) / len(b)
    return float(np.abs(gap).max())


def wasserstein(a: FloatArray, b: FloatArray, quantiles: int = 1000) -> float:
    """Mean absolute difference of matching quantiles (1-Wasserstein, approximated)."""
    if len(a) == 0 or len(b) == 0:
        return float("nan")
    q = (np.arange(quantiles) + 0.5) / quantiles
    return float(np.mean(np.abs(np.quantile(a, q) - np.quantile(b, q))))


def _speed(s: KeystrokeSessions) -> FloatArray:
    span = s.press[s.starts + s.sizes - 1] - s.press[s.starts]
    speed = np.divide(s.sizes - 1, span, out=np.full(len(span), np.nan), where=span > 0)
    return np.asarray(speed, dtype=np.float64)


def _flights(s: KeystrokeSessions) -> FloatArray:
    later = ~s.is_first
    return np.asarray(s.press[later] - np.roll(s.press, 1)[later], dtype=np.float64)


def _pause_counts(s: KeystrokeSessions, pause_ms: float) -> FloatArray:
    later = ~s.is_first
    pauses = _flights(s) >= pause_ms
    return np.bincount(s.group[later][pauses], minlength=s.n_groups).astype(np.float64)


def utility_figures(
    raw: KeystrokeSessions, anonymised: KeystrokeSessions, pause_ms: float = 2000.0
) -> UtilityFigures:
    """Compare two views of the same rows (same sessions in the same order)."""
    ratio = _speed(anonymised) / _speed(raw)
    speed_error = np.abs(ratio[np.isfinite(ratio)] - 1)
    raw_pauses = _pause_counts(raw, pause_ms)
    anon_pauses = _pause_counts(anonymised, pause_ms)
    raw_hold = raw.release - raw.press
    anon_hold = anonymised.release - anonymised.press
    raw_flight, anon_flight = _flights(raw), _flights(anonymised)
    return UtilityFigures(
        speed_error_mean=float(speed_error.mean()) if len(speed_error) else float("nan"),
        speed_error_max=float(speed_error.max()) if len(speed_error) else float("nan"),
        pause_count_error_mean=float(np.abs(anon_pauses - raw_pauses).mean()),
        pause_count_total_raw=int(raw_pauses.sum()),
        pause_count_total_anonymised=int(anon_pauses.sum()),
        hold_ks=ks_statistic(raw_hold, anon_hold),
        hold_wasserstein_ms=wasserstein(raw_hold, anon_hold),
        flight_ks=ks_statistic(raw_flight, anon_flight),
        flight_wasserstein_ms=wasserstein(raw_flight, anon_flight),
    )
