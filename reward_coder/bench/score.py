"""Bench arithmetic, pure: success rates over seeds, Eureka's human-normalized score, curves, tables.

Over seeds each method gets `reward_coder.stats.SeedStats` of its success rate and native return: mean,
sample std, interquartile mean (IQM) and a 95% percentile-bootstrap interval of the mean, with n, the
seeds behind them. Only runs that trained and were evaluated ('ok') go in. A run that did not is never
a success of 0: it is left out of every mean and counted by how it ended, with the first reason:
'refused' (the reward failed its sandbox check and was not trained), 'reward_failed' (it raised or
returned NaN during training) or 'crashed' (anything else; resume retries those). The tables say so
("refused: ...", "0.40 ± 0.10, ... (n=2; 1 crashed)"), and show n/a, never ± 0.00, where one seed has
no spread.

Eureka (Ma et al., 2023) compares a reward with the environment's expert-written one and with a
sparse success-only reward: human-normalized score = (method - sparse) / |expert - sparse|, computed
per task on the task's success metric. 1 means as good as the expert reward, 0 as good as sparse,
above 1 better than the expert. When expert and sparse score the same the ratio is undefined and is
reported as missing (None), never as an infinite or arbitrary number; so is a score that needs the
mean of a method without a single ok run.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from reward_coder.bench.suite import EXPERT, SPARSE
from reward_coder.stats import SeedStats, seed_stats

FAILURE_KINDS = ("refused", "reward_failed", "crashed")
"""How a run that is not 'ok' ended, in the order tables name them. None of them counts as a success of 0:
such runs are left out of every statistic and reported by kind instead."""

FAILURE_LABELS = {"refused": "refused", "reward_failed": "reward failed", "crashed": "crashed"}

CHECK_FAILED = "check failed:"
"""How the runner's failure text of a reward refused by the sandbox check begins."""

CONFIDENCE = 0.95
"""Coverage of the bootstrap interval of the mean in every table."""

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
    """Final evaluation's success rate; None for every status but 'ok' (a failed run has no rate, not 0)."""
    native_return: float | None = None
    timesteps: int = 0
    wall_s: float = 0.0
    curve: tuple[tuple[int, float], ...] = ()
    """(timesteps, success_rate) at each evaluation during training."""
    failure: str = ""
    crafter_score: float | None = None
    """Open-world tasks (Crafter): the Crafter score of the final evaluation's episodes, a suite metric."""

    @property
    def verdict(self) -> str:
        """'ok', or how the run failed: 'refused', 'reward_failed' or 'crashed' (see FAILURE_KINDS)."""
        if self.status == "ok":
            return "ok"
        if self.status == "reward_failed":
            return "refused" if self.failure.startswith(CHECK_FAILED) else "reward_failed"
        return "crashed"


@dataclass(frozen=True)
class MethodSummary:
    """One method on one task, over seeds."""

    task: str
    method: str
    kind: str
    seeds: int
    """Seeds planned (finished or not)."""
    ok: int
    """Runs that trained and were evaluated: the only ones behind `success` and `native_return`."""
    refused: int
    """Runs not trained because the reward failed its sandbox check."""
    reward_failed: int
    """Runs stopped because the reward raised or returned NaN during training."""
    crashed: int
    """Runs that crashed for other reasons (resume retries them)."""
    success: SeedStats
    """Final success rate over the ok seeds."""
    native_return: SeedStats
    """Mean episode return of the env's own reward over the ok seeds (reported, never used to score)."""
    normalized_score: float | None
    """(method - sparse) / |expert - sparse| of the success means; None when undefined or a mean is missing."""
    wall_s_mean: float
    """Mean wall time of the ok runs (0 when there are none)."""
    first_failure: dict[str, str] = field(default_factory=dict)
    """Failure kind -> the failure text of its first run by seed, for each kind that occurred."""
    curve: tuple[tuple[int, float, float, float], ...] = ()
    """(timesteps, mean, min, max) of the success rate over ok seeds, at the evaluations all of them reached."""
    crafter_score: SeedStats | None = None
    """Crafter tasks: the Crafter score over the ok seeds (None for other tasks)."""

    @property
    def success_mean(self) -> float | None:
        return self.success.mean

    @property
    def pending(self) -> int:
        """Planned seeds with no finished run yet (an interrupted bench)."""
        return max(0, self.seeds - self.ok - self.refused - self.reward_failed - self.crashed)

    def failures(self) -> dict[str, int]:
        """Failure kind -> number of runs, for the kinds that occurred, in FAILURE_KINDS order."""
        counts = {kind: getattr(self, kind) for kind in FAILURE_KINDS}
        return {kind: count for kind, count in counts.items() if count}


@dataclass(frozen=True)
class BenchSummary:
    rows: tuple[MethodSummary, ...]
    methods: tuple[str, ...]
    tasks: tuple[str, ...]
    overall: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Per method: 'tasks' (tasks it has runs on), 'success_mean' over the 'success_tasks' with an ok run,
    'normalized_score_mean' over the 'normalized_score_tasks' where the score is defined."""

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


def summarize_method(task: str, method: str, results: Sequence[JobResult], seeds: int | None = None) -> MethodSummary:
    """Statistics of one method on one task from its runs (one per seed), over the ok runs only.

    `seeds` is how many were planned (default: as many as there are results)."""
    ok = [r for r in results if r.verdict == "ok"]
    first_failure: dict[str, str] = {}
    for result in sorted(results, key=lambda r: r.seed):
        if result.verdict != "ok":
            first_failure.setdefault(result.verdict, result.failure)
    return MethodSummary(
        task=task,
        method=method,
        kind=results[0].kind if results else "",
        seeds=len(results) if seeds is None else seeds,
        ok=len(ok),
        refused=sum(r.verdict == "refused" for r in results),
        reward_failed=sum(r.verdict == "reward_failed" for r in results),
        crashed=sum(r.verdict == "crashed" for r in results),
        success=seed_stats([float(r.success_rate) for r in ok if r.success_rate is not None], confidence=CONFIDENCE),
        native_return=seed_stats([float(r.native_return) for r in ok if r.native_return is not None],
                                 confidence=CONFIDENCE),
        normalized_score=None,
        wall_s_mean=_mean([r.wall_s for r in ok]) or 0.0,
        first_failure={kind: first_failure[kind] for kind in FAILURE_KINDS if kind in first_failure},
        curve=_curve(ok),
        crafter_score=(seed_stats([float(r.crafter_score) for r in ok if r.crafter_score is not None],
                                  confidence=CONFIDENCE) if any(r.crafter_score is not None for r in ok) else None),
    )


def summarize(results: Iterable[JobResult], tasks: Sequence[str], methods: Sequence[str], *,
              seeds: int | None = None) -> BenchSummary:
    """Per task and method: success over ok seeds and the normalized score; per method: the means over tasks.

    `seeds` is how many seeds each method was planned with (default: as many as have results)."""
    by_key: dict[tuple[str, str], list[JobResult]] = {}
    for result in results:
        by_key.setdefault((result.task, result.method), []).append(result)
    rows: list[MethodSummary] = []
    for task in tasks:
        summaries = {m: summarize_method(task, m, sorted(by_key[(task, m)], key=lambda r: r.seed), seeds)
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
            "success_tasks": len(successes),
            "normalized_score_mean": _mean(scores),
            "normalized_score_tasks": len(scores),
        }
    return BenchSummary(rows=tuple(rows), methods=tuple(methods), tasks=tuple(tasks), overall=overall)


_STATS_FIELDS = ("n", "mean", "std", "iqm", "ci_low", "ci_high")

CSV_COLUMNS = (
    "task", "method", "kind", "seeds", "ok", "refused", "reward_failed", "crashed", "success",
    *(f"success_{f}" for f in _STATS_FIELDS), "normalized_score",
    *(f"native_return_{f}" for f in _STATS_FIELDS), "wall_s_mean", "first_failure",
)
"""'success' is the table's text ('0.40 ± 0.10, ...' or 'refused: ...'); the numbers follow it."""


def _csv_values(row: MethodSummary) -> dict[str, Any]:
    values: dict[str, Any] = {c: getattr(row, c) for c in ("task", "method", "kind", "seeds", "ok", "refused",
                                                             "reward_failed", "crashed", "normalized_score",
                                                             "wall_s_mean")}
    for name in ("success", "native_return"):
        stats = getattr(row, name)
        values.update({f"{name}_{f}": getattr(stats, f) for f in _STATS_FIELDS})
    values["success"] = format_success(row, limit=None)
    values["first_failure"] = "; ".join(f"{FAILURE_LABELS[k]}: {v}" for k, v in row.first_failure.items())
    return values


def summary_csv(summary: BenchSummary) -> str:
    """One row per task and method; empty cells where a value is undefined (no ok seed, or one for std/interval)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in summary.rows:
        values = _csv_values(row)
        writer.writerow(["" if values[c] is None else _cell(values[c]) for c in CSV_COLUMNS])
    return out.getvalue()


def jobs_csv(results: Sequence[JobResult]) -> str:
    columns = ("job_id", "task", "method", "kind", "seed", "status", "verdict", "success_rate", "native_return",
               "timesteps", "wall_s", "failure")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for result in sorted(results, key=lambda r: r.job_id):
        writer.writerow(["" if getattr(result, c) is None else _cell(getattr(result, c)) for c in columns])
    return out.getvalue()


def _cell(value: Any) -> Any:
    return round(value, 6) if isinstance(value, float) else value


def _short(text: str, limit: int | None) -> str:
    """One line, at most `limit` characters (None: whole)."""
    line = re.sub(r"\s+", " ", text).strip()
    if limit is not None and len(line) > limit:
        line = line[: limit - 1].rstrip() + "…"
    return line


def format_stats(stats: SeedStats, notes: Sequence[str] = (), digits: int = 2) -> str:
    """'0.53 ± 0.12, IQM 0.50, CI [0.40, 0.67] (n=3)'; with one seed 'n/a' for the std and the interval;
    `notes` go after n ('(n=2; 1 crashed)')."""
    suffix = f"n={stats.n}" + (f"; {', '.join(notes)}" if notes else "")
    if stats.mean is None:
        return f"n/a ({suffix})"
    std = "n/a" if stats.std is None else f"{stats.std:.{digits}f}"
    interval = ("n/a" if stats.ci_low is None or stats.ci_high is None
                else f"[{stats.ci_low:.{digits}f}, {stats.ci_high:.{digits}f}]")
    return f"{stats.mean:.{digits}f} ± {std}, IQM {stats.iqm:.{digits}f}, CI {interval} ({suffix})"


def format_success(row: MethodSummary, limit: int | None = 120) -> str:
    """The table cell of one method on one task: its statistics over ok seeds with what is left out, or,
    with no ok seed, how it failed: 'refused: <reason>', 'reward failed: <reason>', 'crashed: <reason>'."""
    failures = row.failures()
    notes = [f"{count} {FAILURE_LABELS[kind]}" for kind, count in failures.items()]
    if row.pending:
        notes.append(f"{row.pending} pending")
    if row.success.n:
        return format_stats(row.success, notes)
    if not failures:
        return "pending" if row.pending else "-"
    kind = next(iter(failures))
    text = f"{FAILURE_LABELS[kind]}: {_short(row.first_failure.get(kind, ''), limit)}"
    if len(failures) > 1 or row.pending:
        text += f" ({', '.join(notes)})"
    return text


def left_out(summary: BenchSummary) -> dict[str, int]:
    """Failure kind -> runs left out of the statistics over the whole bench, for the kinds that occurred."""
    counts = {kind: sum(getattr(row, kind) for row in summary.rows) for kind in FAILURE_KINDS}
    return {kind: count for kind, count in counts.items() if count}


def format_score(score: float | None) -> str:
    return "n/a" if score is None else f"{score:.2f}"


def format_overall(summary: BenchSummary, method: str, key: str, tasks_key: str) -> str:
    """'0.40 (mean over 2 of 3 tasks)': a mean over tasks and how many tasks stand behind it."""
    entry = summary.overall.get(method, {})
    if not entry:
        return "-"
    value = entry.get(key)
    return f"{format_score(value)} (mean over {entry.get(tasks_key, 0)} of {entry.get('tasks', 0)} tasks)"


TABLE_NOTE = (
    "Success rate over seeds that trained: mean ± sample std, IQM (interquartile mean), CI ({confidence:.0%} "
    "percentile-bootstrap interval of the mean), n seeds; n/a where one seed has no spread. Runs refused by the "
    "sandbox check, whose reward failed in training, or that crashed are left out of every mean (never counted "
    "as 0) and named in the cell. Norm. score = (method - sparse) / |expert - sparse| of the means (Eureka)."
)
"""Printed under the markdown table and in the HTML report."""


def _md(text: str) -> str:
    return text.replace("|", "\\|")


def markdown_table(summary: BenchSummary) -> str:
    """Success rate (mean ± std, IQM, interval, n) per task and method, the normalized score of each reward
    under test, the means over tasks with how many tasks they cover, and a note on what the numbers are."""
    tested = [m for m in summary.methods if m not in (EXPERT, SPARSE)]
    header = ["task", "expert", "sparse"] + [f"{m}" for m in tested] + [f"{m} norm. score" for m in tested]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for task in summary.tasks:
        cells = [task]
        for method in [EXPERT, SPARSE, *tested]:
            row = summary.row(task, method)
            cells.append(_md(format_success(row)) if row else "-")
        for method in tested:
            row = summary.row(task, method)
            cells.append(format_score(row.normalized_score) if row else "-")
        lines.append("| " + " | ".join(cells) + " |")
    means = ["all tasks"]
    for method in [EXPERT, SPARSE, *tested]:
        means.append(format_overall(summary, method, "success_mean", "success_tasks"))
    for method in tested:
        means.append(format_overall(summary, method, "normalized_score_mean", "normalized_score_tasks"))
    lines.append("| " + " | ".join(means) + " |")
    text = "\n".join(lines) + "\n\n" + TABLE_NOTE.format(confidence=CONFIDENCE) + "\n"
    scored = [task for task in summary.tasks
              if any((row := summary.row(task, m)) is not None and row.crafter_score is not None
                     for m in [EXPERT, SPARSE, *tested])]
    if scored:
        header = ["task (Crafter score)", "expert", "sparse", *tested]
        extra = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for task in scored:
            cells = [task]
            for method in [EXPERT, SPARSE, *tested]:
                row = summary.row(task, method)
                cells.append(_md(format_stats(row.crafter_score, [])) if row and row.crafter_score else "-")
            extra.append("| " + " | ".join(cells) + " |")
        text += ("\n" + "\n".join(extra) + "\n\n" + CRAFTER_NOTE + "\n")
    return text


CRAFTER_NOTE = (
    "Crafter score: exp(mean over the 22 achievements of ln(1 + s_i)) - 1, s_i the % of final-evaluation "
    "episodes that unlocked achievement i (Hafner 2021), per seed, then over seeds as above. Published at 1M "
    "steps: SB3 PPO 4.6, strong agents 15-22; these runs are far shorter."
)
