"""Reward reflection over time (Eureka): each term's values across training checkpoints, in a compact table.

Pure functions of a TrainOutcome's learning curve, where every point holds the evaluation's success,
the return of the reward being trained and each term's mean episode sum. The guidance lines are data
for the designer, phrased as Eureka's: success near zero means rewrite; a term that never moves
carries no signal (rescale or drop it); a term that dwarfs the others drowns them (rescale it).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from reward_coder.analyze import DOMINANCE_RATIO
from reward_coder.outcomes import CurvePoint, TrainOutcome

NEAR_ZERO_SUCCESS = 0.05
MAX_ROWS = 6
"""Checkpoints shown per candidate: the first, the last and evenly spaced ones between."""


def _shown_points(curve: Sequence[CurvePoint]) -> list[CurvePoint]:
    if len(curve) <= MAX_ROWS:
        return list(curve)
    picks = np.linspace(0, len(curve) - 1, MAX_ROWS).round().astype(int)
    return [curve[i] for i in sorted(set(picks.tolist()))]


def term_correlations(curve: Sequence[CurvePoint]) -> dict[str, float | None]:
    """Pearson correlation over checkpoints between each term's mean and the task metric (None if undefined)."""
    names = sorted({name for point in curve for name in point.term_means})
    metric = np.array([point.metric for point in curve], dtype=float)
    found: dict[str, float | None] = {}
    for name in names:
        values = np.array([point.term_means.get(name, math.nan) for point in curve], dtype=float)
        usable = np.isfinite(values) & np.isfinite(metric)
        if usable.sum() < 3 or np.ptp(values[usable]) == 0 or np.ptp(metric[usable]) == 0:
            found[name] = None
            continue
        found[name] = float(np.corrcoef(values[usable], metric[usable])[0, 1])
    return found


def guidance(outcome: TrainOutcome) -> list[str]:
    """What the numbers suggest doing next, one line each."""
    curve = outcome.curve
    lines: list[str] = []
    if not curve:
        return lines
    last = curve[-1]
    if max(point.success_rate for point in curve) <= NEAR_ZERO_SUCCESS:
        lines.append(f"success stayed near zero at every checkpoint (last {last.success_rate:.2f} at "
                     f"{last.timesteps} steps): rewrite the reward rather than re-tune it")
    names = sorted({name for point in curve for name in point.term_means})
    for name in names:
        values = [point.term_means[name] for point in curve if name in point.term_means]
        if len(values) >= 2 and max(values) - min(values) <= 1e-9 * max(1.0, abs(values[0])):
            lines.append(f"term '{name}' had the same episode sum ({values[0]:.4g}) at every checkpoint: "
                         "rescale it or drop it")
    scales = sorted(((abs(value), name) for name, value in last.term_means.items() if value != 0), reverse=True)
    if len(scales) >= 2 and scales[0][0] >= DOMINANCE_RATIO * scales[1][0]:
        lines.append(f"term '{scales[0][1]}' is {scales[0][0] / scales[1][0]:.0f}x the next term "
                     f"'{scales[1][1]}' at the last checkpoint: rescale it so the others count")
    return lines


def series_table(outcome: TrainOutcome) -> str:
    """One line per shown checkpoint: steps, success, metric, the reward's own return, each term's sum."""
    lines = []
    for point in _shown_points(outcome.curve):
        own = f", own return {point.candidate_return:.4g}" if point.candidate_return is not None else ""
        terms = ", ".join(f"{name} {value:.4g}" for name, value in sorted(point.term_means.items()))
        lines.append(f"{point.timesteps} steps: success {point.success_rate:.2f}, metric {point.metric:.4g}{own}"
                     + (f"; term sums: {terms}" if terms else ""))
    correlations = term_correlations(outcome.curve)
    if any(value is not None for value in correlations.values()):
        shown = ", ".join(f"{name} {value:+.2f}" for name, value in correlations.items() if value is not None)
        lines.append(f"correlation of each term's episode sum with the task metric over checkpoints: {shown}")
    return "\n".join(lines)
