"""Successive halving: train every candidate a little, keep the better half, train those further.

With K candidates, budget B and eta=2 over 3 rungs (B/4, B/2, B) the compute is about B*(K/4 + K/4 + K/4)
instead of K*B; weak rewards stop early. Ranking is reward_coder.selection's: the task's metric, then
the card's progress measure, then the area under the success curve; never the candidate's own reward
nor the env's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Callable, Sequence

from reward_coder.train.executor import Executor, outcome_of
from reward_coder.outcomes import TrainOutcome
from reward_coder.train.sb3 import TrainJob, train_candidate
from reward_coder.selection import selection_key
from reward_coder.types import SuccessSpec


@dataclass(frozen=True)
class HalvingPlan:
    budgets: tuple[int, ...]
    eta: int

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
            budget = max(int(total_timesteps / (eta ** (rungs - 1 - rung))), min(min_steps, total_timesteps))
            budgets.append(int(math.ceil(budget / step) * step))
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
        kept = {job.candidate_id for job in alive[:keep]}
        for job in survivors:
            if job.candidate_id not in kept and latest[job.candidate_id].status == "ok":
                pruned_at[job.candidate_id] = rung
                if on_pruned is not None:
                    on_pruned(rung, job.candidate_id)
        survivors = alive[:keep]
        if not survivors:
            break
    return latest, pruned_at
