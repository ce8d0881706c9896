"""`reward-coder bench perf`: what each compute-saving part of the loop costs and saves, measured side by side.

One run, one machine, one fixed set of hand-written stand-in candidates of known quality
(reward_coder/suites/rewards/perf-pendulum-*.handwritten-standin.py: good, weak and clearly bad rewards for
pendulum/swing-up), and for every comparison both variants measured in the same run:

- overhead: PPO training steps/s with the env's native reward vs our batched reward wrapper (in-process and
  in the sandboxed worker), interleaved and repeated (reward_coder.train.bench.overhead_benchmark);
- parallel: K candidates trained by a pool of `workers` processes vs one after another;
- halving: successive halving vs training every candidate to the full budget, over several loop seeds:
  env steps spent, and whether halving picks the candidate full training picks;
- shared replay: K off-policy candidates trained from one replay buffer vs K separate runs
  (reward_coder.train.shared_replay);
- screening: candidates scored on earlier rollouts of known outcome before training, on vs off
  (reward_coder.screening): clearly bad candidates removed, good ones lost, env steps saved.

Every figure sits next to the issue's target for this 2-core machine, with `met` true/false. Absolute
seconds on a shared machine are noise; ratios of variants measured in the same run are the figures.
Results are written to `perf.json` and a self-contained `perf.html` in the output folder.
"""

from __future__ import annotations

import html
import json
import math
import os
import platform
import shutil
import statistics
import time
import traceback
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Callable, Sequence

SECTIONS: tuple[str, ...] = ("overhead", "parallel", "halving", "shared_replay", "screening")

TARGETS = {
    "overhead": "reward wrapper <= 5% slower than the native reward inside training",
    "parallel": ">= 1.8x faster than serial on 2 cores",
    "halving": "picks the full-training winner with <= 40% of the steps",
    "shared_replay": "4 off-policy candidates with <= 35% of the env steps of 4 separate runs, winner's success not lower",
    "screening": "removes >= 1/3 of the clearly bad candidates and no good one",
}


@dataclass(frozen=True)
class StandinCandidate:
    """A hand-written stand-in reward of known quality ('good', 'weak' or 'bad')."""

    id: str
    quality: str
    why: str
    code: str


def standin_candidates(prefix: str = "perf-pendulum-", ids: Sequence[str] | None = None) -> list[StandinCandidate]:
    """The fixed candidate set, read from the packaged stand-in files (quality from their header).

    Without ids: the default set, every file but those whose header says `# Set: extra`. With ids: exactly
    those candidates, extras included, in the order given (an unknown id is an error naming the known ones).
    """
    from reward_coder.bench.suite import SUITES_DIR

    found, extra = [], set()
    for path in sorted((Path(SUITES_DIR) / "rewards").glob(f"{prefix}*.handwritten-standin.py")):
        code = path.read_text()
        cid = path.name.removeprefix(prefix).split(".")[0]
        quality, why = "unknown", ""
        for line in code.splitlines():
            if line.startswith("# Quality:"):
                label, _, why = line.removeprefix("# Quality:").strip().partition(".")
                quality, why = label.strip(), why.strip()
            elif line.startswith("# Set:") and line.removeprefix("# Set:").strip().startswith("extra"):
                extra.add(cid)
        found.append(StandinCandidate(cid, quality, why, code))
    if not found:
        raise FileNotFoundError(f"no stand-in candidates {prefix}*.handwritten-standin.py")
    if ids is None:
        return [c for c in found if c.id not in extra]
    by_id = {c.id: c for c in found}
    unknown = [cid for cid in ids if cid not in by_id]
    if unknown or len(set(ids)) != len(ids) or not ids:
        problem = f"unknown {', '.join(unknown)}" if unknown else "each id once, at least one"
        raise FileNotFoundError(f"stand-in candidates {prefix}*: {problem}; known: {', '.join(by_id)}")
    return [by_id[cid] for cid in ids]


@dataclass(frozen=True)
class PerfSettings:
    """Budgets of every section; `quick()` is the smoke-test size, the defaults the reported one."""

    task: str = "pendulum/swing-up"
    sections: tuple[str, ...] = SECTIONS
    workers: int = 2
    seed: int = 0
    # overhead
    overhead_env: str = "halfcheetah"
    overhead_train_steps: int = 4_096
    overhead_repeats: int = 3
    # parallel vs serial
    parallel_candidates: int = 4
    parallel_timesteps: int = 8_192
    # halving vs full
    halving_timesteps: int = 40_000
    """The card's budget (pendulum: 40,000, rounded up to whole rollouts): what the loop trains to. At half of
    it no reward shows success before 60% of the budget, so every cheap rung ranks on noise."""
    loop_seeds: tuple[int, ...] = (0, 1, 2)
    halving_rungs: tuple[int, ...] = (3, 4)
    """Rung counts compared: 3 is the loop's default cap (reward_coder.train.halving.HalvingPlan.make)."""
    halving_strict: tuple[int, ...] = (4,)
    """Rung counts also run with exact halving (HalvingPlan.keep_ties=False), shown as '<N>-strict'."""
    finalists: int = 2
    """How many of halving's last rung the loop retrains on fresh seeds (RunConfig.finalists)."""
    halving_screened: bool = True
    """Also run what the loop does from its second iteration on: screen on labelled episodes, halve the rest."""
    # shared replay vs separate
    shared_candidates: int = 4
    shared_timesteps: int = 3_000
    shared_seeds: tuple[int, ...] = (0, 1)
    # screening
    screening_episodes: int = 8
    eval_episodes: int = 5
    max_candidates: int | None = None
    """Use only the first N stand-in candidates (smoke tests); None: all of them."""
    candidate_ids: tuple[str, ...] | None = None
    """The stand-ins to use, by id, extras included (e.g. one good reward among seven that are not, as in a
    real iteration); None: the default set."""

    @classmethod
    def quick(cls, **overrides: Any) -> PerfSettings:
        settings = cls(overhead_train_steps=512, overhead_repeats=1, parallel_candidates=2, parallel_timesteps=1_024,
                       halving_timesteps=4_096, loop_seeds=(0,), halving_rungs=(3,), halving_strict=(), shared_candidates=2,
                       shared_timesteps=600, shared_seeds=(0,), halving_screened=False, screening_episodes=4,
                       eval_episodes=2)
        return replace(settings, **overrides)


PENDULUM_ONLY = ("shared_replay", "screening")
"""Sections built on pendulum's scripted policies (screening's labelled episodes) and its SAC settings."""


def chosen_candidates(settings: PerfSettings) -> list[StandinCandidate]:
    """The stand-ins of the settings' task: perf-<card>-*.handwritten-standin.py."""
    return standin_candidates(f"perf-{settings.task.split('/')[0]}-", settings.candidate_ids)[: settings.max_candidates]


def for_task(settings: PerfSettings, task_key: str, keep_budget: bool = False) -> PerfSettings:
    """The settings for another task's stand-ins: its card's training budget for halving (unless
    keep_budget: a quick run keeps its tiny one), and screening before halving only where scripted
    policies of known outcome exist (pendulum)."""
    from reward_coder.tasks import resolve_task

    if task_key == settings.task:
        return settings
    task = resolve_task(task_key, None, None)
    refused = [name for name in settings.sections if name in PENDULUM_ONLY]
    if refused:
        raise ValueError(f"section(s) {', '.join(refused)} run on pendulum/swing-up only; for {task.key} choose "
                         f"from {', '.join(n for n in SECTIONS if n not in PENDULUM_ONLY)}")
    budget = settings.halving_timesteps if keep_budget else task.total_timesteps
    replaced = replace(settings, task=task.key, halving_timesteps=budget, halving_screened=False)
    chosen_candidates(replaced)  # no stand-ins for this task: FileNotFoundError now, before anything trains
    return replaced


def _varied(candidates: list[StandinCandidate], n: int) -> list[StandinCandidate]:
    """n candidates alternating good and not good, so a comparison's winner is not a foregone tie."""
    good = [c for c in candidates if c.quality == "good"]
    other = [c for c in candidates if c.quality != "good"]
    mixed = [c for pair in zip(good, other) for c in pair] + good[len(other):] + other[len(good):]
    return mixed[:n]


def _job(task, candidate: StandinCandidate, out_dir: Path, timesteps: int, seed: int, eval_episodes: int,
         spare_core: bool = False):
    from reward_coder.train.sb3 import TrainJob, rollout_size

    card = task.card
    hyperparameters = dict(card.train.hyperparameters)
    return TrainJob(
        candidate_id=candidate.id, card=card, success=task.success, out_dir=str(out_dir), code=candidate.code,
        algorithm=card.train.algorithm, total_timesteps=timesteps, n_envs=card.train.n_envs, seed=seed, device="cpu",
        hyperparameters=hyperparameters, eval_episodes=eval_episodes,
        eval_every=max(rollout_size(card.train.algorithm, card.train.n_envs, hyperparameters), timesteps // 5),
        max_episode_steps=card.train.max_episode_steps, spare_core=spare_core, tensorboard=False,
        normalize_obs=card.train.normalize_obs, normalize_reward=card.train.normalize_reward)


def _train(job):
    from reward_coder.train.sb3 import train_candidate

    return train_candidate(job)


def _met(value: float | None, ok: bool) -> bool | None:
    return None if value is None or (isinstance(value, float) and not math.isfinite(value)) else bool(ok)


# ------------------------------------------------------------------------------------------------------
# sections
# ------------------------------------------------------------------------------------------------------

def overhead_section(settings: PerfSettings, out: Path, say: Callable[[str], None]) -> dict[str, Any]:
    from reward_coder.train.bench import overhead_benchmark

    result = overhead_benchmark(env=settings.overhead_env, n_envs=8, steps=200, repeats=settings.overhead_repeats,
                                train_steps=settings.overhead_train_steps, seed=settings.seed, on_progress=say)
    rows = {row["variant"]: row for row in result["training"]}
    native = rows["PPO, native reward"]
    in_process = rows["PPO, reward in-process"]
    sandboxed = rows["PPO, reward in sandboxed worker (no polling)"]
    spare = rows["PPO, reward in sandboxed worker (spare core)"]
    # training runs with every core busy, so the no-polling sandbox is what a candidate gets
    slowdown = sandboxed["slowdown_pct"]
    return {
        "env": result["env"], "isolation": result["isolation"], "train_steps_per_measurement": settings.overhead_train_steps,
        "repeats": settings.overhead_repeats,
        "native_steps_per_s": native["steps_per_s_median"],
        "wrapper_in_process_steps_per_s": in_process["steps_per_s_median"],
        "wrapper_sandboxed_steps_per_s": sandboxed["steps_per_s_median"],
        "wrapper_sandboxed_spare_core_steps_per_s": spare["steps_per_s_median"],
        "wrapper_slowdown_pct": slowdown,
        "in_process_slowdown_pct": in_process["slowdown_pct"],
        "sandboxed_vs_in_process_pct": 100 * (1 - sandboxed["steps_per_s_median"] / in_process["steps_per_s_median"]),
        "runs": {row["variant"]: row["runs"] for row in result["training"]},
        "target": TARGETS["overhead"], "met": _met(slowdown, slowdown <= 5.0),
    }


def parallel_section(settings: PerfSettings, out: Path, say: Callable[[str], None]) -> dict[str, Any]:
    from reward_coder.tasks import resolve_task
    from reward_coder.train.executor import LocalExecutor

    task = resolve_task(settings.task, None, None)
    candidates = chosen_candidates(settings)[: settings.parallel_candidates]
    timings: dict[str, float] = {}
    statuses: dict[str, list[str]] = {}
    for variant, workers in (("serial", 1), ("parallel", settings.workers)):
        folder = out / "parallel" / variant
        shutil.rmtree(folder, ignore_errors=True)
        # as the loop does: a sandbox worker spins only when it has a core of its own
        spare = (os.cpu_count() or 1) >= 2 * min(workers, len(candidates))
        jobs = [_job(task, c, folder / c.id, settings.parallel_timesteps, settings.seed, settings.eval_episodes, spare)
                for c in candidates]
        executor = LocalExecutor(workers)
        started = time.perf_counter()
        try:
            results = [outcome for _, outcome in executor.map_unordered(_train, jobs)]
        finally:
            executor.close()
        timings[variant] = time.perf_counter() - started
        statuses[variant] = [o.status for o in results]
        say(f"parallel: {variant} ({workers} worker(s)): {len(jobs)} x {settings.parallel_timesteps:,} steps in "
            f"{timings[variant]:.1f} s")
    speedup = timings["serial"] / timings["parallel"]
    return {
        "candidates": len(candidates), "timesteps_each": settings.parallel_timesteps, "workers": settings.workers,
        "cores": os.cpu_count(), "serial_s": timings["serial"], "parallel_s": timings["parallel"],
        "speedup": speedup, "statuses": statuses,
        "target": TARGETS["parallel"], "met": _met(speedup, speedup >= 1.8),
    }


def _arm_plan(arm: str) -> tuple[int, bool]:
    """'3' -> 3 rungs keeping ties; '4-strict' -> 4 rungs, exact halving; 'screen+3' -> screened, then '3'."""
    name = arm.split("+")[-1]
    return int(name.split("-")[0]), not name.endswith("-strict")


def across_seeds(per_seed: list[dict[str, Any]], arms: Sequence[str]) -> dict[str, Any]:
    """Full training's best candidate over all loop seeds, the candidates it cannot tell from that one, and
    how often each halving arm picks (and keeps among its finalists) one of those.

    One seed's full-training winner is itself a draw: where several rewards reach the same success, it is
    decided by the metric's last decimals and changes with the seed. Over the seeds, a candidate is as good
    as the best one when its mean success and mean metric are both within TIE_Z standard errors (of the
    seed means) of the best's; a candidate that crashed or was not evaluated on any seed never is.
    """
    from reward_coder.selection import LOWEST, TIE_Z

    n = len(per_seed)
    stats: dict[str, dict[str, Any]] = {}
    for cid in per_seed[0]["full"]["metric"]:
        success = [entry["full"]["success"].get(cid) for entry in per_seed]
        metric = [entry["full"]["metric"].get(cid) for entry in per_seed]
        valid = all(v is not None and v >= 0 for v in success) and all(v is not None and v > LOWEST for v in metric)
        row: dict[str, Any] = {"valid": valid}
        if valid:
            for name, values in (("success", success), ("metric", metric)):
                row[f"{name}_mean"] = statistics.mean(values)
                row[f"{name}_se"] = math.sqrt(statistics.variance(values) / n) if n > 1 else 0.0
        stats[cid] = row
    valid_ids = [cid for cid, row in stats.items() if row["valid"]]
    if not valid_ids:
        return {"seeds": n, "best": None, "as_good_as_best": [], "candidates": stats, "by_arm": {}}
    best = max(valid_ids, key=lambda cid: (stats[cid]["success_mean"], stats[cid]["metric_mean"]))

    def close(a: str, b: str, name: str) -> bool:
        spread = math.hypot(stats[a][f"{name}_se"], stats[b][f"{name}_se"])
        return abs(stats[a][f"{name}_mean"] - stats[b][f"{name}_mean"]) <= TIE_Z * spread

    as_good = [cid for cid in valid_ids if cid == best or (close(cid, best, "success") and close(cid, best, "metric"))]
    by_arm = {}
    for arm in arms:
        runs = [entry["halving"][arm] for entry in per_seed]
        by_arm[arm] = {
            "picks_best": sum(run["winner"] == best for run in runs),
            "picks_as_good": sum(run["winner"] in as_good for run in runs),
            "finalists_hold_as_good": sum(any(f in as_good for f in run.get("finalists", [])) for run in runs),
        }
    return {"seeds": n, "best": best, "as_good_as_best": as_good, "candidates": stats, "by_arm": by_arm}


def halving_section(settings: PerfSettings, out: Path, say: Callable[[str], None]) -> dict[str, Any]:
    """Per loop seed: every candidate trained to the full budget (the reference winner), then successive
    halving from scratch with the same seed, once per rung count compared."""
    from reward_coder.selection import describe_key, selection_key, tied
    from reward_coder.tasks import resolve_task
    from reward_coder.train.executor import LocalExecutor
    from reward_coder.train.halving import HalvingPlan, successive_halving
    from reward_coder.train.sb3 import rollout_size

    task = resolve_task(settings.task, None, None)
    candidates = chosen_candidates(settings)
    quality = {c.id: c.quality for c in candidates}
    card = task.card
    granularity = rollout_size(card.train.algorithm, card.train.n_envs, dict(card.train.hyperparameters))
    executor = LocalExecutor(settings.workers)
    spare = (os.cpu_count() or 1) >= 2 * min(settings.workers, len(candidates))
    per_seed = []
    arms = [str(rungs) for rungs in settings.halving_rungs] + [f"{rungs}-strict" for rungs in settings.halving_strict]
    screened: dict[str, Any] | None = None
    if settings.halving_screened:
        screened = _screen_standins(settings, task, candidates)
        arms.append(f"screen+{settings.halving_rungs[0]}")
        say(f"halving: screening first keeps {', '.join(screened['kept'])} "
            f"({screened['sandbox_s']:.1f} s of sandbox time, no env steps)")
    try:
        for loop_seed in settings.loop_seeds:
            folder = out / "halving" / f"seed-{loop_seed}"
            shutil.rmtree(folder, ignore_errors=True)
            jobs = [_job(task, c, folder / "full" / c.id, settings.halving_timesteps, loop_seed, settings.eval_episodes,
                         spare) for c in candidates]
            started = time.perf_counter()
            full = {o.candidate_id: o for _, o in executor.map_unordered(_train, jobs)}
            full_s = time.perf_counter() - started
            ranked = sorted(full, key=lambda cid: selection_key(full[cid], task.success), reverse=True)
            full_steps = sum(o.timesteps for o in full.values())
            # the candidates full training cannot tell apart from its own winner (same success, metric within
            # the evaluation's noise): picking any of them is no worse than full training's pick
            tied_with_winner = [cid for cid in ranked if cid == ranked[0] or tied(full[cid], full[ranked[0]], task.success)]
            entry: dict[str, Any] = {
                "loop_seed": loop_seed, "full": {
                    "winner": ranked[0], "winner_quality": quality[ranked[0]],
                    "winner_key": describe_key(selection_key(full[ranked[0]], task.success)),
                    "ranking": ranked, "tied_with_winner": tied_with_winner, "steps": full_steps, "seconds": full_s,
                    "keys": {cid: describe_key(selection_key(o, task.success)) for cid, o in full.items()},
                    "success": {cid: o.success_rate for cid, o in full.items()},
                    "metric": {cid: selection_key(o, task.success)[1] for cid, o in full.items()},
                }, "halving": {}}
            say(f"halving: seed {loop_seed}: full training picks {ranked[0]} ({quality[ranked[0]]}) after "
                f"{full_steps:,} steps")
            for arm in arms:
                rungs, keep_ties = _arm_plan(arm)
                kept = set(screened["kept"]) if arm.startswith("screen+") and screened else {c.id for c in candidates}
                arm_jobs = [job for job in jobs if job.candidate_id in kept]
                plan = HalvingPlan.make(settings.halving_timesteps, len(arm_jobs), rungs=rungs, granularity=granularity)
                plan = replace(plan, keep_ties=keep_ties)
                plain = entry["halving"].get(str(rungs))
                if arm.startswith("screen+") and plain is not None and len(arm_jobs) == len(jobs):
                    # screening kept every candidate: the same jobs, plan and seed as the plain arm, so its run
                    entry["halving"][arm] = {**plain, "same_as": str(rungs)}
                    continue
                halving_jobs = [replace(job, out_dir=str(folder / f"halving-{arm}" / job.candidate_id)) for job in arm_jobs]
                started = time.perf_counter()
                latest, pruned_at = successive_halving(halving_jobs, executor, plan, task.success, train=_train)
                seconds = time.perf_counter() - started
                finished = [cid for cid in latest if cid not in pruned_at and latest[cid].status == "ok"]
                finished.sort(key=lambda cid: selection_key(latest[cid], task.success), reverse=True)
                winner = finished[0] if finished else None
                steps = sum(o.timesteps for o in latest.values())
                entry["halving"][arm] = {
                    "candidates": len(arm_jobs), "keep_ties": keep_ties,
                    # the loop retrains its best `finalists` on fresh seeds and chooses among them there
                    "finalists": finished[:settings.finalists],
                    "finalists_hold_winner": ranked[0] in finished[:settings.finalists],
                    "budgets": list(plan.budgets), "winner": winner, "winner_quality": quality.get(winner or "", None),
                    "same_winner": winner == ranked[0], "steps": steps, "steps_fraction": steps / full_steps,
                    "tied_winner": winner in tied_with_winner,
                    "winner_key": describe_key(selection_key(latest[winner], task.success)) if winner else None,
                    "seconds": seconds, "pruned_at": pruned_at,
                    "winner_success": latest[winner].success_rate if winner else None,
                }
                say(f"halving: seed {loop_seed}, {arm} rungs {list(plan.budgets)}: picks {winner} with "
                    f"{steps:,} steps ({100 * steps / full_steps:.0f}% of full training)")
            per_seed.append(entry)
    finally:
        executor.close()
    pooled = across_seeds(per_seed, arms)
    summary = {}
    for arm in arms:
        runs = [entry["halving"][arm] for entry in per_seed]
        same = sum(run["same_winner"] for run in runs)
        over = pooled["by_arm"].get(arm, {})
        held = sum(run["finalists_hold_winner"] for run in runs)
        as_good = sum(run["same_winner"] or run.get("tied_winner", False) for run in runs)
        fraction = statistics.mean(run["steps_fraction"] for run in runs)
        summary[arm] = {
            "same_winner": f"{same}/{len(runs)}", "same_winner_count": same, "seeds": len(runs),
            "same_or_tied_winner": f"{as_good}/{len(runs)}", "same_or_tied_winner_count": as_good,
            "steps_fraction_mean": fraction,
            "good_winner": f"{sum(run['winner_quality'] == 'good' for run in runs)}/{len(runs)}",
            "met": _met(fraction, same == len(runs) and fraction <= 0.40),
            "met_up_to_ties": _met(fraction, as_good == len(runs) and fraction <= 0.40),
            "finalists_hold_winner": f"{held}/{len(runs)}", "finalists_hold_winner_count": held,
            "picks_as_good_over_seeds": f"{over.get('picks_as_good', 0)}/{len(runs)}",
            "picks_as_good_over_seeds_count": over.get("picks_as_good", 0),
            "finalists_hold_as_good_over_seeds": f"{over.get('finalists_hold_as_good', 0)}/{len(runs)}",
            "met_over_seeds": _met(fraction, over.get("picks_as_good", 0) == len(runs) and fraction <= 0.40),
        }
    default = summary[str(settings.halving_rungs[0])]
    return {
        "candidates": [{"id": c.id, "quality": c.quality, "why": c.why} for c in candidates],
        "timesteps": settings.halving_timesteps, "loop_seeds": list(settings.loop_seeds),
        "per_seed": per_seed, "by_rungs": summary, "target": TARGETS["halving"], "over_seeds": pooled,
        "screened": screened,
        "met": default["met"],
        "note": (f"'met' is for {settings.halving_rungs[0]} rungs, the loop's default plan, on all candidates; the "
                 "others are shown beside it. 'same winner' is the exact pick of full training; 'same or tied' also "
                 "counts a pick full training could not tell from its own (same success rate, metric within two "
                 "standard errors of the evaluation episodes), shown as a second figure, never instead of the first. 'over seeds' "
                 "judges each pick against full training over all loop seeds: as good as its best candidate when mean "
                 "success and mean metric are within two standard errors of the seed means; 'finalists hold' asks "
                 "whether the loop's finalists (halving's best few, retrained on fresh seeds) include full training's "
                 "pick. '<N>-strict' halves exactly, without keeping ties. 'screen+N' screens first on labelled episodes of scripted policies "
                 "(what the loop does once an iteration has stored rollouts; the first iteration has none) and "
                 "halves the candidates it keeps; its fraction is of full training of all candidates."),
    }


def _screen_standins(settings: PerfSettings, task: Any, candidates: list[StandinCandidate]) -> dict[str, Any]:
    """Screening as the loop runs it before training, on the screening section's labelled episodes."""
    from reward_coder import screening

    episodes = screening.labelled_episodes(task.card, task.success, screening.pendulum_policies(),
                                           episodes_each=settings.screening_episodes, seed=settings.seed)
    known = [screening.KnownCandidate(c.id, c.code, "unknown") for c in candidates]
    rows = screening.measure_screening(known, episodes, task.card.field_names())
    out = [row["candidate"] for row in rows.results if row["verdict"] in ("rejected", "failed")]
    return {"kept": [c.id for c in candidates if c.id not in out], "screened_out": out,
            "verdicts": {row["candidate"]: row["verdict"] for row in rows.results},
            "sandbox_s": rows.sandbox_s, "episodes": rows.episodes}


def shared_replay_section(settings: PerfSettings, out: Path, say: Callable[[str], None]) -> dict[str, Any]:
    """SAC on the card (the loop's off-policy path), the same hyperparameters, budget, seed and evaluation
    for K separate runs and for one shared-replay run of the same K candidates."""
    from reward_coder.tasks import resolve_task
    from reward_coder.train.shared_replay import compare_shared_vs_separate

    task = resolve_task(settings.task, None, None)
    candidates = _varied(chosen_candidates(settings), settings.shared_candidates)
    seeds = tuple(settings.shared_seeds) or (settings.seed,)
    say(f"shared replay: {len(candidates)} SAC candidates x {settings.shared_timesteps:,} steps, separate then "
        f"shared, seeds {', '.join(map(str, seeds))}")
    per_seed = []
    for seed in seeds:
        # SAC as the module's short comparisons run it (learning_starts 200, rate 1e-3, one env), both arms alike
        run = compare_shared_vs_separate(
            settings.task, {c.id: c.code for c in candidates}, timesteps=settings.shared_timesteps, seed=seed,
            out_dir=out / "shared_replay" / f"seed-{seed}", eval_episodes=settings.eval_episodes, on_progress=say)
        run["seed"] = seed
        run["winner_success_not_lower"] = run["shared"]["winner"] is not None and (
            (run["shared"]["winner_success"] or 0.0) >= (run["separate"]["winner_success"] or 0.0))
        per_seed.append(run)
        say(f"shared replay: seed {seed}: {run['shared']['env_steps']:,} vs {run['separate']['env_steps']:,} env "
            f"steps; winner {run['shared']['winner']} vs {run['separate']['winner']}")

    def total(side: str, key: str) -> float:
        return float(sum(run[side][key] for run in per_seed))

    fraction = total("shared", "env_steps") / total("separate", "env_steps")
    not_lower = sum(run["winner_success_not_lower"] for run in per_seed)
    return {
        "seeds": list(seeds), "per_seed": per_seed, "candidates": [c.id for c in candidates],
        "qualities": {c.id: c.quality for c in candidates}, "timesteps": settings.shared_timesteps,
        "env_steps_fraction": fraction,
        "shared": {"env_steps": int(total("shared", "env_steps")), "wall_s": total("shared", "wall_s"),
                   "winner_success": [run["shared"]["winner_success"] for run in per_seed],
                   "winner": [run["shared"]["winner"] for run in per_seed]},
        "separate": {"env_steps": int(total("separate", "env_steps")), "wall_s": total("separate", "wall_s"),
                     "winner_success": [run["separate"]["winner_success"] for run in per_seed],
                     "winner": [run["separate"]["winner"] for run in per_seed]},
        "same_winner": f"{sum(run['shared']['winner'] == run['separate']['winner'] for run in per_seed)}/{len(per_seed)}",
        "winner_success_not_lower": f"{not_lower}/{len(per_seed)}",
        "target": TARGETS["shared_replay"], "met": _met(fraction, fraction <= 0.35 and not_lower == len(per_seed)),
    }


def screening_section(settings: PerfSettings, out: Path, say: Callable[[str], None]) -> dict[str, Any]:
    """Episodes of scripted policies of known outcome (the card's swing-up controller succeeds; idle, random,
    spinning and swing-only ones fail) are what earlier iterations would have stored; every stand-in is
    screened on them in the sandbox. 'Saved' counts the full training budget of each candidate kept back."""
    from reward_coder import screening
    from reward_coder.tasks import resolve_task

    task = resolve_task(settings.task, None, None)
    started = time.perf_counter()
    episodes = screening.labelled_episodes(task.card, task.success, screening.pendulum_policies(),
                                           episodes_each=settings.screening_episodes, seed=settings.seed)
    rollout_s = time.perf_counter() - started
    candidates = chosen_candidates(settings)
    known = [screening.KnownCandidate(c.id, c.code, c.quality if c.quality in ("good", "bad") else "unknown",
                                      settings.halving_timesteps, c.why) for c in candidates]
    measured = screening.measure_screening(known, episodes, task.card.field_names())
    result = measured.to_dict()
    screened_out = [row["candidate"] for row in result["results"] if row["verdict"] in ("rejected", "failed")]
    say(f"screening: {len(episodes)} labelled episodes ({result['successes']} successful); screened out "
        f"{', '.join(screened_out) or 'none'} in {result['sandbox_s']:.1f} s of sandbox time")
    result.update({
        "screened_out": screened_out, "rollout_s": rollout_s, "screening_seconds": result["sandbox_s"],
        "weak_kept_or_removed": {row["candidate"]: row["verdict"] for row in result["results"]
                                 if row["quality"] not in ("good", "bad")},
        "bad": result["bad_total"], "good": result["good_total"],
        "target": TARGETS["screening"], "met": _met(float(result["bad_removed"]), bool(result["meets_target"])),
    })
    return result


RUNNERS: dict[str, Callable[[PerfSettings, Path, Callable[[str], None]], dict[str, Any]]] = {
    "overhead": overhead_section, "parallel": parallel_section, "halving": halving_section,
    "shared_replay": shared_replay_section, "screening": screening_section,
}


def run_perf(settings: PerfSettings, out: Path, on_progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Run the chosen sections in order; write perf.json after each (nothing lost on a crash) and perf.html.

    A section that fails is recorded with its error (status 'crashed'), never as a zero, and the others go on.
    """
    say = on_progress or (lambda _m: None)
    unknown = [name for name in settings.sections if name not in RUNNERS]
    if unknown:
        raise ValueError(f"unknown perf section(s) {', '.join(unknown)}; choose from {', '.join(SECTIONS)}")
    out.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {
        "benchmark": "perf", "settings": asdict(settings), "started": time.strftime("%Y-%m-%d %H:%M:%S"),
        "machine": {"cores": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        "candidates": [{"id": c.id, "quality": c.quality, "why": c.why} for c in chosen_candidates(settings)],
        "candidates_note": "hand-written stand-in rewards of deliberately known quality, not any model's output",
        "sections": {},
    }
    for name in settings.sections:
        say(f"--- {name}: {TARGETS[name]}")
        started = time.perf_counter()
        try:
            section = {"status": "ok", **RUNNERS[name](settings, out, say)}
        except Exception as error:  # noqa: BLE001 - a section's crash is a figure of its own
            section = {"status": "crashed", "error": f"{type(error).__name__}: {error}",
                       "traceback": traceback.format_exc(limit=8), "target": TARGETS[name], "met": None}
            say(f"{name}: crashed: {section['error']}")
        section["section_seconds"] = time.perf_counter() - started
        result["sections"][name] = section
        _write(out, result)
    result["finished"] = time.strftime("%Y-%m-%d %H:%M:%S")
    _write(out, result)
    return result


def _write(out: Path, result: dict[str, Any]) -> None:
    from reward_coder.store import RunStore

    store = RunStore(out)
    store.write_text("perf.json", json.dumps(result, indent=2, default=str) + "\n")
    store.write_text("perf.html", render_html(result))


# ------------------------------------------------------------------------------------------------------
# the side-by-side table
# ------------------------------------------------------------------------------------------------------

def headline(result: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(section, baseline vs ours measured in this run, target, met) per section."""
    rows = []
    for name, s in result["sections"].items():
        if s.get("status") != "ok":
            rows.append((name, f"crashed: {s.get('error', '?')}", s.get("target", ""), "not measured"))
            continue
        if name == "overhead":
            text = (f"native {s['native_steps_per_s']:,.0f} steps/s vs wrapper (sandboxed) "
                    f"{s['wrapper_sandboxed_steps_per_s']:,.0f} steps/s: {s['wrapper_slowdown_pct']:+.1f}% slower; "
                    f"in-process {s['in_process_slowdown_pct']:+.1f}%; sandboxed vs in-process "
                    f"{s['sandboxed_vs_in_process_pct']:+.1f}% ({s['repeats']} repeats, median)")
        elif name == "parallel":
            text = (f"{s['candidates']} candidates x {s['timesteps_each']:,} steps: serial {s['serial_s']:.0f} s vs "
                    f"{s['workers']} workers {s['parallel_s']:.0f} s: {s['speedup']:.2f}x")
        elif name == "halving":
            parts = [f"{rungs} rungs: same winner {v['same_winner']} seeds (same or tied "
                     f"{v.get('same_or_tied_winner', '?')}), {100 * v['steps_fraction_mean']:.0f}% of "
                     f"the steps, good winner {v['good_winner']}, finalists hold full's pick "
                     f"{v.get('finalists_hold_winner', '?')}, as good as full's best over seeds "
                     f"{v.get('picks_as_good_over_seeds', '?')}" for rungs, v in s["by_rungs"].items()]
            best = (s.get("over_seeds") or {}).get("best")
            text = "; ".join(parts) + (f" (full training's best over the seeds: {best}, as good: "
                                       f"{', '.join(s['over_seeds']['as_good_as_best'])})" if best else "")
        elif name == "shared_replay":
            def rates(side: str) -> str:
                return "/".join("crashed" if v is None else f"{v:.2f}" for v in s[side]["winner_success"])

            text = (f"shared {s['shared']['env_steps']:,} env steps vs separate {s['separate']['env_steps']:,} "
                    f"({100 * s['env_steps_fraction']:.0f}%) over seeds {','.join(map(str, s['seeds']))}; winner "
                    f"success shared {rates('shared')} vs separate {rates('separate')}; same winner "
                    f"{s['same_winner']}; wall {s['shared']['wall_s']:.0f} s vs {s['separate']['wall_s']:.0f} s")
        elif name == "screening":
            text = (f"bad removed {s['bad_removed']}/{s['bad']}, good lost {s['good_lost']}/{s['good']}; "
                    f"env steps saved {s.get('env_steps_saved', 0):,}; cost {s.get('screening_seconds', 0):.1f} s")
        else:
            text = ""
        met = {True: "yes", False: "no", None: "undecided"}[s.get("met")]
        rows.append((name, text, s["target"], met))
    return rows


def render_html(result: dict[str, Any]) -> str:
    rows = "".join(
        f"<tr><td>{html.escape(a)}</td><td>{html.escape(b)}</td><td>{html.escape(c)}</td>"
        f"<td class='{'ok' if d == 'yes' else 'bad'}'>{html.escape(d)}</td></tr>"
        for a, b, c, d in headline(result))
    candidates = "".join(f"<tr><td>{html.escape(c['id'])}</td><td>{html.escape(c['quality'])}</td>"
                         f"<td>{html.escape(c['why'])}</td></tr>" for c in result["candidates"])
    details = "".join(
        f"<h3>{html.escape(name)}</h3><pre>{html.escape(json.dumps(section, indent=2, default=str))}</pre>"
        for name, section in result["sections"].items())
    machine = result["machine"]
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>reward-coder bench perf</title>
<style>body{{font-family:system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222}}
table{{border-collapse:collapse;margin:1em 0;font-size:14px}}td,th{{border:1px solid #ccc;padding:4px 8px;vertical-align:top}}
th{{background:#f3f3f3}}.ok{{color:#070}}.bad{{color:#b00}}pre{{font-size:12px;background:#f8f8f8;padding:8px;overflow:auto}}
.note{{color:#666;font-size:13px}}</style></head><body>
<h1>reward-coder bench perf</h1>
<p class="note">{html.escape(result['started'])}, {machine['cores']} cores, {html.escape(machine['platform'])}.
Both variants of every row ran in this run, on this machine; seconds are noise, ratios are the figures.</p>
<table><tr><th>comparison</th><th>measured (baseline vs ours)</th><th>target</th><th>met</th></tr>{rows}</table>
<h2>Candidates</h2><p class="note">{html.escape(result['candidates_note'])}</p>
<table><tr><th>id</th><th>quality</th><th>why</th></tr>{candidates}</table>
<h2>Details</h2>{details}</body></html>
"""
