"""Bench arithmetic, pure: success rates over seeds, Eureka's human-normalized score, curves, tables.

Eureka (Ma et al., 2023) compares a reward with the environment's expert-written one and with a
sparse success-only reward: human-normalized score = (method - sparse) / |expert - sparse|, computed
per task on the task's success metric. 1 means as good as the expert reward, 0 as good as sparse,
above 1 better than the expert. When expert and sparse score the same the ratio is undefined and is
reported as missing (None), never as an infinite or arbitrary number.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from reward_coder.bench.suite import EXPERT, SPARSE

FAILED_TRAINING = ("reward_failed",)
"""Statuses that are the reward's own fault (it raised, returned NaN, or failed its check): they count as
success 0. 'crashed' (an infrastructure failure) is left out of the statistics."""

UNDEFINED_BELOW = 1e-9
"""|expert - sparse| at or below this makes the normalized score undefined."""


@dataclass(frozen=True)
class JobResult:
    """What one finished training run (task x method x seed) contributes to the tables."""

    job_id: str
    task: str
    method: str
    kind: str
    """'expert', 'sparse' or 'reward' (a reward under test)."""
    seed: int
    status: str
    success_rate: float | None
    """Final evaluation's success rate; 0 for a reward that failed; None when the run crashed."""
    native_return: float | None = None
    timesteps: int = 0
    wall_s: float = 0.0
    curve: tuple[tuple[int, float], ...] = ()
    """(timesteps, success_rate) at each evaluation during training."""
    failure: str = ""


@dataclass(frozen=True)
class MethodSummary:
    """One method on one task, over seeds."""

    task: str
    method: str
    kind: str
    seeds: int
    ok: int
    failed: int
    """Runs whose reward failed (counted as success 0)."""
    crashed: int
    """Runs that crashed for other reasons (left out of the statistics)."""
    success_mean: float | None
    success_std: float | None
    success_min: float | None
    success_max: float | None
    native_return_mean: float | None
    normalized_score: float | None
    """(method - sparse) / |expert - sparse| of the success means; None when undefined."""
    wall_s_mean: float
    curve: tuple[tuple[int, float, float, float], ...] = ()
    """(timesteps, mean, min, max) of the success rate over seeds, at the evaluations all seeds reached."""


@dataclass(frozen=True)
class BenchSummary:
    rows: tuple[MethodSummary, ...]
    methods: tuple[str, ...]
    tasks: tuple[str, ...]
    overall: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Per method: mean success over tasks, mean normalized score over the tasks where it is defined."""

    def row(self, task: str, method: str) -> MethodSummary | None:
        for row in self.rows:
            if row.task == task and row.method == method:
                return row
        return None


def normalized_score(method: float | None, sparse: float | None, expert: float | None) -> float | None:
    """Eureka's human-normalized score (method - sparse) / |expert - sparse|; None if undefined."""
    if method is None or sparse is None or expert is None:
        return None
    spread = abs(expert - sparse)
    if spread <= UNDEFINED_BELOW:
        return None
    return (method - sparse) / spread


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _std(values: Sequence[float]) -> float | None:
    """Population standard deviation (numpy's default): the spread of the seeds actually run."""
    if not values:
        return None
    mean = sum(values) / len(values)
    return math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))


def _curve(results: Sequence[JobResult]) -> tuple[tuple[int, float, float, float], ...]:
    usable = [dict(r.curve) for r in results if r.curve]
    if not usable:
        return ()
    shared = sorted(set.intersection(*(set(c) for c in usable)))
    points = []
    for t in shared:
        values = [c[t] for c in usable]
        points.append((t, sum(values) / len(values), min(values), max(values)))
    return tuple(points)


def summarize_method(task: str, method: str, results: Sequence[JobResult]) -> MethodSummary:
    """Statistics of one method on one task from its runs (one per seed)."""
    counted = [r for r in results if r.success_rate is not None]
    rates = [float(r.success_rate) for r in counted]
    returns = [float(r.native_return) for r in counted if r.native_return is not None and r.status == "ok"]
    return MethodSummary(
        task=task,
        method=method,
        kind=results[0].kind if results else "",
        seeds=len(results),
        ok=sum(r.status == "ok" for r in results),
        failed=sum(r.status in FAILED_TRAINING for r in results),
        crashed=sum(r.success_rate is None for r in results),
        success_mean=_mean(rates),
        success_std=_std(rates),
        success_min=min(rates) if rates else None,
        success_max=max(rates) if rates else None,
        native_return_mean=_mean(returns),
        normalized_score=None,
        wall_s_mean=_mean([r.wall_s for r in results]) or 0.0,
        curve=_curve([r for r in results if r.status == "ok"]),
    )


def summarize(results: Iterable[JobResult], tasks: Sequence[str], methods: Sequence[str]) -> BenchSummary:
    """Per task and method: success over seeds and the normalized score; per method: the means over tasks."""
    from dataclasses import replace

    by_key: dict[tuple[str, str], list[JobResult]] = {}
    for result in results:
        by_key.setdefault((result.task, result.method), []).append(result)
    rows: list[MethodSummary] = []
    for task in tasks:
        summaries = {m: summarize_method(task, m, sorted(by_key[(task, m)], key=lambda r: r.seed))
                     for m in methods if (task, m) in by_key}
        expert = summaries.get(EXPERT)
        sparse = summaries.get(SPARSE)
        for method in methods:
            if method not in summaries:
                continue
            summary = summaries[method]
            score = normalized_score(
                summary.success_mean,
                sparse.success_mean if sparse else None,
                expert.success_mean if expert else None,
            )
            rows.append(replace(summary, normalized_score=score))
    overall: dict[str, dict[str, Any]] = {}
    for method in methods:
        mine = [r for r in rows if r.method == method]
        successes = [r.success_mean for r in mine if r.success_mean is not None]
        scores = [r.normalized_score for r in mine if r.normalized_score is not None]
        overall[method] = {
            "tasks": len(mine),
            "success_mean": _mean(successes),
            "normalized_score_mean": _mean(scores),
            "normalized_score_tasks": len(scores),
        }
    return BenchSummary(rows=tuple(rows), methods=tuple(methods), tasks=tuple(tasks), overall=overall)


CSV_COLUMNS = (
    "task", "method", "kind", "seeds", "ok", "failed", "crashed", "success_mean", "success_std",
    "success_min", "success_max", "normalized_score", "native_return_mean", "wall_s_mean",
)


def summary_csv(summary: BenchSummary) -> str:
    """One row per task and method; empty cells where a value is undefined."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in summary.rows:
        writer.writerow(["" if getattr(row, c) is None else _cell(getattr(row, c)) for c in CSV_COLUMNS])
    return out.getvalue()


def jobs_csv(results: Sequence[JobResult]) -> str:
    columns = ("job_id", "task", "method", "kind", "seed", "status", "success_rate", "native_return",
               "timesteps", "wall_s", "failure")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for result in sorted(results, key=lambda r: r.job_id):
        writer.writerow(["" if getattr(result, c) is None else _cell(getattr(result, c)) for c in columns])
    return out.getvalue()


def _cell(value: Any) -> Any:
    return round(value, 6) if isinstance(value, float) else value


def format_rate(mean: float | None, std: float | None) -> str:
    """'0.60 ± 0.20' (or '-' when there is nothing to show)."""
    if mean is None:
        return "-"
    return f"{mean:.2f} ± {std or 0.0:.2f}"


def format_score(score: float | None) -> str:
    return "n/a" if score is None else f"{score:.2f}"


def markdown_table(summary: BenchSummary) -> str:
    """Success rate (mean ± std over seeds) per task and method, and the normalized score of each reward under test."""
    tested = [m for m in summary.methods if m not in (EXPERT, SPARSE)]
    header = ["task", "expert", "sparse"] + [f"{m}" for m in tested] + [f"{m} norm. score" for m in tested]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for task in summary.tasks:
        cells = [task]
        for method in [EXPERT, SPARSE, *tested]:
            row = summary.row(task, method)
            cells.append(format_rate(row.success_mean, row.success_std) if row else "-")
        for method in tested:
            row = summary.row(task, method)
            cells.append(format_score(row.normalized_score) if row else "-")
        lines.append("| " + " | ".join(cells) + " |")
    means = ["mean over tasks"]
    for method in [EXPERT, SPARSE, *tested]:
        value = summary.overall.get(method, {}).get("success_mean")
        means.append("-" if value is None else f"{value:.2f}")
    for method in tested:
        means.append(format_score(summary.overall.get(method, {}).get("normalized_score_mean")))
    lines.append("| " + " | ".join(means) + " |")
    return "\n".join(lines) + "\n"
