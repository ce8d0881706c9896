"""Replay successive halving on a finished bench folder with two rankings: which reward does each select?

A bench run of the `selection-study` suite trains every reward under test to the full budget on each seed,
evaluating at every quarter of it. Successive halving with checkpoints is the same training stopped early,
so replaying it on those recorded evaluations shows exactly what a ranking would have kept, pruned and
finally picked, and how many steps it would have spent, with every ranking seeing the same policies.

Rankings compared:
- `native-tiebreak`: (success rate, oriented metric, native return): reward-coder's ranking before issue 9,
  where the env's own (expert) reward broke ties, e.g. between candidates all at success 0.
- `task-only`: reward_coder.selection.selection_key: (success rate, oriented metric, card progress
  distance, success-curve area); the native return is never read.

A rung is judged on the first learning-curve evaluation at or after its budget (the loop judges on a
separate evaluation after the rung; both rankings here see the same one).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from reward_coder.outcomes import CurvePoint, TrainOutcome
from reward_coder.selection import selection_key
from reward_coder.success import lower_is_better
from reward_coder.types import SuccessSpec

Key = Callable[[TrainOutcome, SuccessSpec], tuple[float, ...]]


def native_tiebreak_key(outcome: TrainOutcome, success: SuccessSpec) -> tuple[float, float, float]:
    """The ranking reward-coder used before: success, metric, then the env's own return."""
    if outcome.status != "ok" or outcome.eval is None:
        return (-1.0, -math.inf, -math.inf)
    metric = float(outcome.eval.get("metric_mean", math.nan))
    if math.isnan(metric):
        metric = -math.inf
    elif lower_is_better(success):
        metric = -metric
    return (float(outcome.eval["success_rate"]), metric, float(outcome.eval.get("native_return_mean", 0.0)))


RANKINGS: dict[str, Key] = {"native-tiebreak": native_tiebreak_key, "task-only": selection_key}


@dataclass(frozen=True)
class Replay:
    """One ranking replayed on one task and seed."""

    ranking: str
    task: str
    seed: int
    winner: str | None
    pruned_at: dict[str, int]
    steps: int
    """Training steps the halving would have spent: each candidate's budget at the last rung it reached."""


def at_budget(outcome: TrainOutcome, budget: int) -> TrainOutcome | None:
    """The outcome as a rung at `budget` would have seen it: the curve up to the first point >= budget,
    judged on that point."""
    curve = [p for p in outcome.curve]
    reached = [i for i, p in enumerate(curve) if p.timesteps >= budget]
    if outcome.status != "ok" or not reached:
        return None
    upto = curve[: reached[0] + 1]
    point: CurvePoint = upto[-1]
    evaluation = {"success_rate": point.success_rate, "metric_mean": point.metric,
                  "native_return_mean": point.native_return, "progress_mean": point.progress}
    return replace(outcome, curve=tuple(upto), eval=evaluation, timesteps=point.timesteps)


def replay_halving(outcomes: dict[str, TrainOutcome], budgets: Sequence[int], success: SuccessSpec,
                   key: Key, eta: int = 2) -> tuple[str | None, dict[str, int], int]:
    """(winner, candidate -> rung it was pruned after, steps spent) of successive halving on recorded curves."""
    survivors = [cid for cid in sorted(outcomes) if outcomes[cid].status == "ok"]
    pruned_at: dict[str, int] = {}
    reached: dict[str, int] = {cid: 0 for cid in outcomes}
    ranked: list[str] = []
    for rung, budget in enumerate(budgets):
        seen = {cid: at_budget(outcomes[cid], budget) for cid in survivors}
        alive = [cid for cid in survivors if seen[cid] is not None]
        for cid in survivors:
            reached[cid] = budget
        ranked = sorted(alive, key=lambda cid: key(seen[cid], success), reverse=True)  # type: ignore[arg-type]
        if rung == len(budgets) - 1:
            break
        keep = max(1, math.ceil(len(survivors) / eta))
        for cid in ranked[keep:]:
            pruned_at[cid] = rung
        survivors = ranked[:keep]
    winner = ranked[0] if ranked else None
    return winner, pruned_at, sum(reached.values())


def study(records: Sequence[dict[str, Any]], budgets_of: Callable[[str], Sequence[int]],
          success_of: Callable[[str], SuccessSpec]) -> dict[str, Any]:
    """Replay every ranking on every (task, seed) of a bench folder's outcome records (kind 'reward' only)."""
    from reward_coder.outcomes import outcome_from_dict
    from reward_coder.stats import seed_stats

    grouped: dict[tuple[str, int], dict[str, TrainOutcome]] = {}
    quality: dict[tuple[str, str], list[float]] = {}
    for record in records:
        if record["kind"] != "reward":
            continue
        outcome = outcome_from_dict(record["outcome"])
        grouped.setdefault((record["task"], record["seed"]), {})[record["method"]] = outcome
        if outcome.status == "ok":
            quality.setdefault((record["task"], record["method"]), []).append(outcome.success_rate)
    replays: list[Replay] = []
    for (task, seed), outcomes in sorted(grouped.items()):
        for name, key in RANKINGS.items():
            winner, pruned, steps = replay_halving(outcomes, budgets_of(task), success_of(task), key)
            replays.append(Replay(name, task, seed, winner, pruned, steps))
    tasks = sorted({task for task, _ in grouped})
    summary: dict[str, Any] = {}
    for task in tasks:
        rows = {}
        for name in RANKINGS:
            mine = [r for r in replays if r.task == task and r.ranking == name]
            picks: dict[str, int] = {}
            for r in mine:
                picks[str(r.winner)] = picks.get(str(r.winner), 0) + 1
            rows[name] = {"picks": picks, "seeds": len(mine), "steps_mean": sum(r.steps for r in mine) / max(1, len(mine))}
        summary[task] = {
            "rankings": rows,
            "final_success": {method: seed_stats(values).to_dict()
                              for (t, method), values in sorted(quality.items()) if t == task},
        }
    return {"replays": [r.__dict__ for r in replays], "summary": summary, "budgets": {t: list(budgets_of(t)) for t in tasks}}


def markdown(result: dict[str, Any]) -> str:
    """Per task: each candidate's full-budget success over seeds, then what each ranking picked, per seed."""
    from reward_coder.stats import SeedStats

    lines = []
    for task, block in result["summary"].items():
        lines += [f"### {task}", "", f"rung budgets: {', '.join(map(str, result['budgets'][task]))}", "",
                  "| candidate | success at the full budget (over seeds) |", "|---|---|"]
        for method, stats in block["final_success"].items():
            lines.append(f"| {method} | {SeedStats(**stats).describe()} |")
        lines += ["", "| ranking | picks (over seeds) | per seed | mean steps spent |", "|---|---|---|---|"]
        for name, row in block["rankings"].items():
            per_seed = ", ".join(f"s{r['seed']}: {r['winner']}" for r in result["replays"]
                                 if r["task"] == task and r["ranking"] == name)
            picks = ", ".join(f"{w} x{n}" for w, n in sorted(row["picks"].items()))
            lines.append(f"| {name} | {picks} | {per_seed} | {row['steps_mean']:.0f} |")
        lines.append("")
    return "\n".join(lines)


def study_folder(folder) -> dict[str, Any]:
    """Replay both rankings on a finished bench folder; writes selection_study.json and .md into it."""
    from pathlib import Path

    from reward_coder.bench.runner import load_bench_folder
    from reward_coder.envs import resolve_task
    from reward_coder.errors import ConfigError
    from reward_coder.store import RunStore
    from reward_coder.train.halving import HalvingPlan
    from reward_coder.train.sb3 import rollout_size

    folder = Path(folder)
    suite = load_bench_folder(folder)
    if len(suite.rewards) < 2:
        raise ConfigError(f"bench folder {folder} has {len(suite.rewards)} reward(s) under test; a selection study "
                          "needs at least 2 (see reward_coder/suites/selection-study.yaml)")
    store = RunStore(folder)
    records = [store.read_json(f"outcomes/{path.name}") for path in sorted((folder / "outcomes").glob("*.json"))]

    def budgets_of(task: str) -> Sequence[int]:
        from reward_coder.bench.runner import suite_train_settings

        card, _ = resolve_task(task)
        algorithm, hyperparameters = suite_train_settings(suite, card)  # what the jobs trained with
        n = sum(1 for reward in suite.rewards if reward.for_task(task) is not None)
        return HalvingPlan.make(suite.total_timesteps, n, granularity=rollout_size(
            algorithm, suite.n_envs, hyperparameters)).budgets

    def success_of(task: str) -> SuccessSpec:
        return resolve_task(task)[1].success

    result = study(records, budgets_of, success_of)
    result["suite"] = suite.name
    result["command"] = f"reward-coder bench selection {folder}"
    store.write_json("selection_study.json", result)
    store.write_text("selection_study.md", markdown(result))
    return result
