"""Successive halving: train every candidate a little, keep the better half, train those further.

With K candidates, budget B and eta=2 over 3 rungs (B/4, B/2, B), training resumed between rungs, the
compute is about K*B/4 + (K/2)*(B/4) + (K/4)*(B/2) = K*B/2 instead of K*B; weak rewards stop early. Ranking is reward_coder.selection's: the task's metric, then
the card's progress measure, then the area under the success curve; never the candidate's own reward
nor the env's. A rung prunes only candidates its evaluation can tell apart from the last one kept
(reward_coder.selection.tied): where early evaluations are noise, more candidates go on, rather than a
good reward being dropped on a coin flip.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Callable, Sequence

from reward_coder.train.executor import Executor, outcome_of
from reward_coder.outcomes import TrainOutcome
from reward_coder.train.sb3 import TrainJob, train_candidate
from reward_coder.selection import selection_key, tied
from reward_coder.types import SuccessSpec


@dataclass(frozen=True)
class HalvingPlan:
    budgets: tuple[int, ...]
    eta: int
    keep_ties: bool = True
    """Keep, beyond the better 1/eta, every candidate tied with the last one kept (same success rate,
    metric within the evaluation's noise); False prunes to exactly ceil(n / eta)."""

    @classmethod
    def make(cls, total_timesteps: int, n_candidates: int, eta: int = 2, rungs: int | None = None,
             min_steps: int = 2_000, granularity: int = 1) -> HalvingPlan:
        """Rungs so that the last trains the survivor(s) to the full budget; one rung when pruning can't help.

        `granularity` is the algorithm's rollout size (PPO: n_steps * n_envs): training always runs
        whole rollouts, so budgets are rounded up to it instead of being overshot silently.
        """
        if rungs is None:
            rungs = 1 + max(0, math.ceil(math.log(max(n_candidates, 1), eta)))
            rungs = min(rungs, 3)
        step = max(1, granularity)
        budgets = []
        for rung in range(rungs):
            budget = max(total_timesteps / (eta ** (rungs - 1 - rung)), min(min_steps, total_timesteps))
            # the nearest whole number of rollouts (at least one): rounding every rung up made a
            # 3-rung plan of 5 rollouts cost 60% of full training instead of the planned 50%
            budgets.append(int(max(1, math.floor(budget / step + 0.5)) * step))
        return cls(tuple(sorted(set(budgets))), eta)


def successive_halving(
    jobs: Sequence[TrainJob],
    executor: Executor,
    plan: HalvingPlan,
    success: SuccessSpec,
    *,
    train: Callable[[TrainJob], TrainOutcome] = train_candidate,
    on_outcome: Callable[[int, TrainOutcome], None] | None = None,
    cached: Callable[[int, TrainJob], TrainOutcome | None] | None = None,
    on_pruned: Callable[[int, str], None] | None = None,
) -> tuple[dict[str, TrainOutcome], dict[str, int]]:
    """Run the plan. Returns the latest outcome per candidate and, for pruned ones, the rung they stopped at.

    `cached(rung, job)` returns a stored outcome of a rung finished before an interruption; such jobs
    are not trained again (training itself resumes from the last checkpoint of an unfinished rung).
    """
    latest: dict[str, TrainOutcome] = {}
    pruned_at: dict[str, int] = {}
    survivors = list(jobs)
    for rung, budget in enumerate(plan.budgets):
        segment = []
        for job in survivors:
            stored = cached(rung, job) if cached is not None else None
            if stored is not None:
                latest[job.candidate_id] = stored
            else:
                segment.append(replace(job, total_timesteps=budget))
        for index, value in executor.map_unordered(train, segment):
            outcome = outcome_of(segment[index], value)  # a job lost with its node: crashed, the rest go on
            latest[segment[index].candidate_id] = outcome
            if on_outcome is not None:
                on_outcome(rung, outcome)
        if rung == len(plan.budgets) - 1:
            break
        alive = [job for job in survivors if latest[job.candidate_id].status == "ok"]
        alive.sort(key=lambda job: selection_key(latest[job.candidate_id], success), reverse=True)
        keep = max(1, math.ceil(len(survivors) / plan.eta))
        chosen = alive[:keep]
        if plan.keep_ties and 0 < keep < len(alive):
            cut = latest[alive[keep - 1].candidate_id]
            chosen += [job for job in alive[keep:] if tied(latest[job.candidate_id], cut, success)]
        kept = {job.candidate_id for job in chosen}
        for job in survivors:
            if job.candidate_id not in kept and latest[job.candidate_id].status == "ok":
                pruned_at[job.candidate_id] = rung
                if on_pruned is not None:
                    on_pruned(rung, job.candidate_id)
        survivors = chosen
        if not survivors:
            break
    return latest, pruned_at
