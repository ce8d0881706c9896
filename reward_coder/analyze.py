"""The trajectory analyzer: numbers from training and evaluation -> a short text of what happened and why.

Pure functions of the outcome; an optional LLM pass (analyzer.j2) may rephrase them, but every claim
here is computed, so the designer gets facts even when no analyzer model is used.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from reward_coder.success import lower_is_better
from reward_coder.train.sb3 import TrainOutcome
from reward_coder.types import EnvCard, SuccessSpec, TermStats

DOMINANCE_RATIO = 20.0
"""A term whose mean |value| is this many times the next largest drowns the others."""


def _as_stats(value: TermStats | Mapping[str, float]) -> TermStats:
    return value if isinstance(value, TermStats) else TermStats(**value)


def term_table(term_stats: Mapping[str, TermStats | Mapping[str, float]]) -> str:
    """One line per term: name, mean, std, min, max (what the designer and critic read)."""
    lines = []
    for name, raw in sorted(term_stats.items()):
        s = _as_stats(raw)
        lines.append(f"{name}: mean {s.mean:.4g}, std {s.std:.3g}, min {s.min:.4g}, max {s.max:.4g}")
    return "\n".join(lines)


def term_findings(term_stats: Mapping[str, TermStats | Mapping[str, float]]) -> list[str]:
    """Terms that never change, and terms that dominate the others by DOMINANCE_RATIO or more."""
    stats = {name: _as_stats(raw) for name, raw in term_stats.items()}
    findings = []
    for name, s in sorted(stats.items()):
        if s.std <= 1e-9 * max(1.0, abs(s.mean)):
            findings.append(f"term '{name}' never changes (always {s.mean:.4g}): it gives no learning signal")
    scales = sorted(((s.abs_mean, name) for name, s in stats.items() if s.abs_mean > 0), reverse=True)
    if len(scales) >= 2 and scales[1][0] > 0:
        ratio = scales[0][0] / scales[1][0]
        if ratio >= DOMINANCE_RATIO:
            findings.append(
                f"term '{scales[0][1]}' dominates: its mean |value| is {ratio:.0f}x that of '{scales[1][1]}'"
            )
    return findings


def _episode_findings(episodes: list[dict[str, Any]], card: EnvCard, success: SuccessSpec) -> list[str]:
    findings = []
    n = len(episodes)
    if n == 0:
        return findings
    lengths = np.array([e["length"] for e in episodes])
    terminated = [e for e in episodes if e["terminated"]]
    succeeded = sum(bool(e["success"]) for e in episodes)
    findings.append(f"succeeded in {succeeded}/{n} evaluation episodes")
    if terminated:
        early = [e["length"] for e in terminated if not e["success"]]
        if early:
            findings.append(
                f"episode ends early at step ~{int(np.median(early))} in {len(early)}/{n} episodes "
                f"without success (a fall or a failure state)"
            )
    metrics = np.array([e["metric"] for e in episodes], dtype=float)
    field = success.params.get("field")
    threshold = success.params.get("threshold")
    what = f"'{field}'" if field else "the task metric"
    if threshold is not None and np.isfinite(metrics).all():
        findings.append(
            f"{what}: mean {metrics.mean():.3g} over episodes (range {metrics.min():.3g} to {metrics.max():.3g}); "
            f"success needs {'<=' if lower_is_better(success) else '>='} {threshold}"
        )
    means: dict[str, list[float]] = {}
    for episode in episodes:
        for name, value in episode.get("field_means", {}).items():
            means.setdefault(name, []).append(value)
    if means:
        shown = ", ".join(f"{name} {np.mean(values):.3g}" for name, values in list(means.items())[:8])
        findings.append(f"episode means of the fields: {shown}")
    if len(set(lengths.tolist())) > 1:
        findings.append(f"episode length {lengths.min()}-{lengths.max()} (mean {lengths.mean():.0f})")
    return findings


def _curve_findings(outcome: TrainOutcome) -> list[str]:
    curve = outcome.curve
    if len(curve) < 2:
        return []
    first, last = curve[0], curve[-1]
    best = max(curve, key=lambda p: (p.success_rate, p.native_return))
    text = (
        f"during training, success went from {first.success_rate:.2f} (at {first.timesteps} steps) to "
        f"{last.success_rate:.2f} (at {last.timesteps})"
    )
    if best.success_rate > last.success_rate + 0.2:
        text += f"; it peaked at {best.success_rate:.2f} at {best.timesteps} steps and then fell"
    return [text]


def analyze_outcome(outcome: TrainOutcome, card: EnvCard, success: SuccessSpec, pruned_at: int | None = None) -> str:
    """A few lines of facts about one trained candidate, for the next designer prompt and the report."""
    if outcome.status == "reward_failed":
        step = f" at step {outcome.failure_step}" if outcome.failure_step is not None else ""
        return f"training stopped{step}: the reward failed ({outcome.failure})"
    if outcome.status == "crashed":
        return f"training crashed: {outcome.failure}"
    lines: list[str] = []
    if pruned_at is not None:
        lines.append(f"pruned after rung {pruned_at} ({outcome.timesteps} steps): weaker than the others so far")
    if outcome.eval:
        lines.extend(_episode_findings(outcome.eval.get("episodes", []), card, success))
        lines.extend(term_findings(outcome.eval.get("term_stats", {})))
    lines.extend(_curve_findings(outcome))
    if outcome.train_term_stats:
        lines.extend(f"(training) {f}" for f in term_findings(outcome.train_term_stats))
    return "; ".join(lines) if lines else "no measurements"
