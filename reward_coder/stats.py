"""Statistics over seeds, pure: mean, sample std, interquartile mean and a bootstrap interval of the mean.

A handful of seeds is what RL benchmarks can afford, so a bare mean ± std says little: Agarwal et al.
(2021, "Deep RL at the Edge of the Statistical Precipice") recommend the interquartile mean (robust to
one lucky or unlucky seed) and a bootstrap confidence interval. One seed has no spread: its std and
interval are None (shown as n/a), never 0. Only the values of runs that finished go in; a run that
failed is the caller's to report, not a zero to average.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import stats as _scipy_stats


@dataclass(frozen=True)
class SeedStats:
    """Summary of one quantity (a success rate, a return) over seeds."""

    n: int
    """Values behind the numbers (seeds)."""
    mean: float | None
    """None when n == 0."""
    std: float | None
    """Sample standard deviation (ddof=1); None when n < 2."""
    ci_low: float | None
    """Lower end of the bootstrap interval of the mean; None when n < 2."""
    ci_high: float | None
    """Upper end of the bootstrap interval of the mean; None when n < 2."""
    iqm: float | None
    """Interquartile mean (mean of the middle half, scipy.stats.trim_mean(values, 0.25)); None when n == 0."""
    confidence: float = 0.95
    """Coverage the interval was computed for."""

    def describe(self, digits: int = 2) -> str:
        """'0.53 ± 0.12 [0.40, 0.67] (n=3)'; '0.53 (n=1; no interval)'; 'n/a (n=0)'."""
        if self.mean is None:
            return f"n/a (n={self.n})"
        mean = f"{self.mean:.{digits}f}"
        if self.std is None or self.ci_low is None or self.ci_high is None:
            return f"{mean} (n={self.n}; no interval)"
        return f"{mean} ± {self.std:.{digits}f} [{self.ci_low:.{digits}f}, {self.ci_high:.{digits}f}] (n={self.n})"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _checked(values: Sequence[float]) -> np.ndarray:
    """The values as a float array; ValueError on None, NaN or infinity (callers pass finished runs only)."""
    for index, value in enumerate(values):
        if value is None:
            raise ValueError(f"value {index} is None; pass only the values of runs that finished")
        if not math.isfinite(float(value)):
            raise ValueError(f"value {index} is {value}; statistics over seeds need finite values")
    return np.asarray(values, dtype=float).reshape(-1)


def iqm(values: Sequence[float]) -> float | None:
    """Interquartile mean: the mean of the middle 50% of the values (None for no values)."""
    array = _checked(values)
    if array.size == 0:
        return None
    return float(_scipy_stats.trim_mean(array, 0.25))


def bootstrap_ci(
    values: Sequence[float],
    *,
    statistic: Callable[..., Any] = np.mean,
    confidence: float = 0.95,
    n_resamples: int = 2000,
    seed: int = 0,
) -> tuple[float, float] | None:
    """Percentile-bootstrap interval of `statistic` over `values` (None below two values).

    Percentile rather than scipy's default BCa: with 3-5 seeds BCa's jackknife is degenerate as often
    as not. Seeded, so the same values give the same interval. All-equal values give [v, v].
    """
    array = _checked(values)
    if array.size < 2:
        return None
    if np.all(array == array[0]):
        value = float(statistic(array))
        if math.isclose(value, array[0], rel_tol=1e-12, abs_tol=1e-15):
            value = float(array[0])  # the mean of three 0.7s is 0.7, not 0.6999999999999998
        return value, value
    with warnings.catch_warnings():
        # a bootstrap distribution with one value (e.g. two almost equal seeds) is an answer, not a problem
        warnings.simplefilter("ignore", _scipy_stats.DegenerateDataWarning)
        result = _scipy_stats.bootstrap(
            (array,), statistic, n_resamples=n_resamples, confidence_level=confidence, method="percentile",
            rng=np.random.default_rng(seed),
        )
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


def seed_stats(
    values: Sequence[float], *, confidence: float = 0.95, n_resamples: int = 2000, seed: int = 0
) -> SeedStats:
    """Mean, sample std, IQM and bootstrap interval of the mean of `values` (one per seed)."""
    array = _checked(values)
    n = int(array.size)
    if n and np.all(array == array[0]):
        # exact for identical seeds (a float mean would drift by an ulp and the std come out as 1e-16)
        value = float(array[0])
        return SeedStats(n=n, mean=value, std=0.0 if n >= 2 else None, ci_low=value if n >= 2 else None,
                         ci_high=value if n >= 2 else None, iqm=value, confidence=confidence)
    interval = bootstrap_ci(array, confidence=confidence, n_resamples=n_resamples, seed=seed)
    return SeedStats(
        n=n,
        mean=float(array.mean()) if n else None,
        std=float(array.std(ddof=1)) if n >= 2 else None,
        ci_low=interval[0] if interval else None,
        ci_high=interval[1] if interval else None,
        iqm=iqm(array),
        confidence=confidence,
    )
