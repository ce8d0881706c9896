"""The trajectory analyzer: numbers from training and evaluation -> a short text of what happened and why.

Pure functions of the outcome; an optional LLM pass (analyzer.j2) may rephrase them, but every claim
here is computed, so the designer gets facts even when no analyzer model is used.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from reward_coder.openworld.analysis import open_world_findings
from reward_coder.success import lower_is_better
from reward_coder.outcomes import TrainOutcome
from reward_coder.types import EnvCard, FieldSpec, SuccessSpec, TermStats

DOMINANCE_RATIO = 20.0
"""A term whose mean |value| is this many times the next largest drowns the others."""

MAX_FIELDS_SHOWN = 8
"""Fields listed, in card order, in the finding of episode means; task distances have findings of their own."""


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
    means = _per_key(episodes, "field_means")
    spreads = _per_key(episodes, "field_circular_std")
    shown = [text for spec in card.fields if (text := _field_text(spec, means, spreads))][:MAX_FIELDS_SHOWN]
    if shown:
        findings.append(f"episode means of the fields: {', '.join(shown)}")
    findings.extend(_distance_findings(episodes, card))
    findings.extend(open_world_findings(episodes))  # deaths by cause, stuck, achievements: [] off open worlds
    if len(set(lengths.tolist())) > 1:
        findings.append(f"episode length {lengths.min()}-{lengths.max()} (mean {lengths.mean():.0f})")
    return findings


def _circular_mean(angles: list[float]) -> float:
    """Mean direction of angles in radians (the same statistic evaluate.py records per episode)."""
    return float(np.arctan2(np.mean(np.sin(angles)), np.mean(np.cos(angles))))


def _per_key(episodes: list[dict[str, Any]], record_key: str) -> dict[str, list[float]]:
    """record_key's dict of every episode (e.g. field_means) gathered into key -> per-episode values."""
    gathered: dict[str, list[float]] = {}
    for episode in episodes:
        for key, value in (episode.get(record_key) or {}).items():
            gathered.setdefault(key, []).append(float(value))
    return gathered


def _field_text(spec: FieldSpec, means: Mapping[str, list[float]], spreads: Mapping[str, list[float]]) -> str:
    """One field's episode means averaged over episodes (keys as evaluate.py writes them); '' when not recorded.

    Angles are averaged circularly and shown with their mean within-episode circular std; vectors by
    their mean norm, and their components when recorded.
    """
    name, unit = spec.name, f" {spec.unit}" if spec.unit else ""
    size = int(np.prod(spec.shape)) if spec.shape else 1
    keys = [name] if size == 1 else [f"{name}[{i}]" for i in range(size)]
    if spec.angle:
        keys = [k for k in keys if k in means]
        if not keys:
            return ""
        centres = ", ".join(f"{_circular_mean(means[k]):.3g}" for k in keys)
        text = f"{name} circular mean {centres if len(keys) == 1 else f'({centres})'}{unit}"
        if all(k in spreads for k in keys):
            widths = ", ".join(f"{np.mean(spreads[k]):.2g}" for k in keys)
            text += f" (circular std {widths if len(keys) == 1 else f'({widths})'})"
        return text
    if size == 1:
        return f"{name} {np.mean(means[name]):.3g}{unit}" if name in means else ""
    if f"{name}|norm" not in means:
        return ""
    text = f"{name} norm {np.mean(means[f'{name}|norm']):.3g}{unit}"
    if all(k in means for k in keys):
        text += f", components ({', '.join(f'{np.mean(means[k]):.3g}' for k in keys)})"
    return text


def _distance_findings(episodes: list[dict[str, Any]], card: EnvCard) -> list[str]:
    """Each task distance the card declares (final, min, mean per episode, averaged), then the progress measure."""
    findings = []
    units = {spec.name: f" {spec.unit}" if spec.unit else "" for spec in card.fields}
    finals, mins, means = (_per_key(episodes, key) for key in ("distance_finals", "distance_mins", "distance_means"))
    for spec in card.distances:
        if spec.name not in finals:
            continue
        unit = units.get(spec.a, "")
        parts = [f"final {np.mean(finals[spec.name]):.3g}{unit}"]
        if spec.name in mins:
            parts.append(f"min {np.mean(mins[spec.name]):.3g}{unit}")
        if spec.name in means:
            parts.append(f"mean {np.mean(means[spec.name]):.3g}{unit}")
        findings.append(
            f"task distance {spec.name} ({' '.join(spec.meaning.split())}), per episode averaged over "
            f"{len(finals[spec.name])} episodes: {', '.join(parts)}"
        )
    progress = card.progress
    values = np.array([e["progress"] for e in episodes if e.get("progress") is not None], dtype=float)
    if progress is not None and values.size:
        unit = next((units.get(d.a, "") for d in card.distances if d.name == progress.distance), "")
        about = f" ({progress.description})" if progress.description else ""
        findings.append(
            f"progress (the {progress.reduce} of {progress.distance} in each episode, lower is better): "
            f"{values.mean():.3g}{unit} on average, {values.min():.3g} to {values.max():.3g}{unit} across episodes{about}"
        )
    return findings


def _curve_findings(outcome: TrainOutcome) -> list[str]:
    curve = outcome.curve
    if len(curve) < 2:
        return []
    first, last = curve[0], curve[-1]
    best = max(curve, key=lambda p: p.success_rate)  # the first peak; the env's own return never judges
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
        # the trainer's failure names its call and env step ("reward failed at call N (= env step M): ...");
        # a call scores every parallel env, so a call index alone is not a step count
        if outcome.failure.startswith("reward failed"):
            return f"training stopped: the {outcome.failure}"
        step = f" at env step {outcome.failure_step}" if outcome.failure_step is not None else ""
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
