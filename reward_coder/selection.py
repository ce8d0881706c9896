"""How candidates are ranked: by the task, never by the env's own reward (DESIGN: training and selection).

The order, each key breaking the ties of the one before:
1. the success rate of the task's metric;
2. the metric itself, oriented by its direction (mean forward velocity, final distance, ...);
3. the card's graded progress measure (e.g. Meta-World's object-to-goal distance), lower is better:
   with a binary metric, candidates that all fail at a rung still differ in how close they came;
4. the area under the success curve (earlier success ranks higher).
The native return is reported beside these and never read here.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

from reward_coder.outcomes import CurvePoint, TrainOutcome
from reward_coder.success import lower_is_better
from reward_coder.types import SuccessSpec

LOWEST = -1e18
"""Stands for 'missing' in a key (no metric, no progress measure): finite, so keys stored in best.json
and state.json stay standard JSON (json.dumps writes -inf as the non-standard -Infinity)."""
WORST = (-1.0, LOWEST, LOWEST, LOWEST)
"""The key of a candidate that did not train (or was not evaluated): below every trained one."""


def _finite(value: object, default: float = LOWEST) -> float:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return default
    return number if math.isfinite(number) else default


def success_auc(curve: Sequence[CurvePoint]) -> float:
    """Mean success rate over the learning curve, weighted by the steps between points (trapezoids)."""
    if not curve:
        return 0.0
    if len(curve) == 1:
        return float(curve[0].success_rate)
    area = 0.0
    for before, after in zip(curve, curve[1:]):
        area += (after.timesteps - before.timesteps) * (before.success_rate + after.success_rate) / 2.0
    span = curve[-1].timesteps - curve[0].timesteps
    return area / span if span > 0 else float(curve[-1].success_rate)


def selection_key(outcome: TrainOutcome, success: SuccessSpec) -> tuple[float, float, float, float]:
    """Sort key, higher is better: (success rate, oriented metric, -progress, success AUC)."""
    if outcome.status != "ok" or outcome.eval is None:
        return WORST
    evaluation = outcome.eval
    metric = _finite(evaluation.get("metric_mean"))
    if lower_is_better(success) and metric != LOWEST:
        metric = -metric
    progress = evaluation.get("progress_mean")
    closeness = -_finite(progress) if progress is not None and math.isfinite(float(progress)) else LOWEST
    return (_finite(evaluation.get("success_rate"), 0.0), metric, closeness, success_auc(outcome.curve))


def describe_key(key: Sequence[float]) -> str:
    """The key in words, for logs and best.json."""
    success, metric, progress, auc = (list(key) + [math.nan] * 4)[:4]
    parts = [f"success {success:.2f}", f"metric {metric:.4g}"]
    if progress != LOWEST and math.isfinite(progress):
        parts.append(f"progress distance {-progress:.4g}")
    parts.append(f"success-curve area {auc:.2f}")
    return ", ".join(parts)


TIE_Z = 2.0
"""Two metric means closer than this many standard errors of their difference are a tie (about a 95% band)."""


def _episode_metrics(outcome: TrainOutcome) -> list[float]:
    episodes = (outcome.eval or {}).get("episodes") or []
    values = []
    for episode in episodes:
        value = episode.get("metric") if isinstance(episode, dict) else None
        if value is not None and math.isfinite(float(value)):
            values.append(float(value))
    return values


def tied(a: TrainOutcome, b: TrainOutcome, success: SuccessSpec) -> bool:
    """True when the evaluations cannot tell a and b apart: the same success rate and progress measure,
    and metric means within TIE_Z standard errors of their difference, from the per-episode metrics the
    evaluations kept. Without those (fewer than two episodes on a side) only identical metrics tie."""
    key_a, key_b = selection_key(a, success), selection_key(b, success)
    if key_a == WORST or key_b == WORST or key_a[0] != key_b[0] or key_a[2] != key_b[2]:
        return False
    if key_a[:2] == key_b[:2]:
        return True
    metrics_a, metrics_b = _episode_metrics(a), _episode_metrics(b)
    if len(metrics_a) < 2 or len(metrics_b) < 2:
        return False
    spread = math.sqrt(statistics.variance(metrics_a) / len(metrics_a) + statistics.variance(metrics_b) / len(metrics_b))
    return abs(key_a[1] - key_b[1]) <= TIE_Z * spread
