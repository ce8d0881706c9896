"""Successive halving's plan and its pruning: whole rollouts at about the planned cost, and no candidate
dropped on a difference its evaluation cannot resolve."""

from __future__ import annotations

import pytest

from reward_coder.outcomes import TrainOutcome
from reward_coder.selection import tied
from reward_coder.train.executor import InlineExecutor
from reward_coder.train.halving import HalvingPlan, successive_halving
from reward_coder.train.sb3 import TrainJob
from reward_coder.types import SuccessSpec

UPRIGHT = SuccessSpec(kind="field_mean_above", params={"field": "cos_theta", "threshold": 0.9})


def _outcome(cid: str, metrics: list[float], success: float = 0.0) -> TrainOutcome:
    episodes = [{"metric": m, "success": m >= 0.9} for m in metrics]
    return TrainOutcome(candidate_id=cid, status="ok", timesteps=1000,
                        eval={"success_rate": success, "metric_mean": sum(metrics) / len(metrics),
                              "progress_mean": None, "episodes": episodes})


def _cost(plan: HalvingPlan, n: int) -> int:
    """Env steps of a plan that prunes to exactly ceil(n / eta) per rung (training resumes between rungs)."""
    import math

    steps, alive, before = 0, n, 0
    for budget in plan.budgets:
        steps += alive * (budget - before)
        before, alive = budget, max(1, math.ceil(alive / plan.eta))
    return steps


@pytest.mark.parametrize(("total", "rollout", "rungs", "expected"), [
    (20_480, 4_096, 3, (4_096, 12_288, 20_480)),    # 1.25, 2.5, 5 rollouts: the nearest whole ones
    (40_960, 4_096, 3, (12_288, 20_480, 40_960)),   # 2.5 rounds up
    (40_960, 4_096, 4, (4_096, 12_288, 20_480, 40_960)),
    (100_000, 1, 3, (25_000, 50_000, 100_000)),
])
def test_budgets_are_the_nearest_whole_rollouts(total, rollout, rungs, expected):
    plan = HalvingPlan.make(total, 8, rungs=rungs, granularity=rollout)
    assert plan.budgets == expected and all(b % rollout == 0 for b in plan.budgets)


def test_a_three_rung_plan_of_eight_costs_about_half_of_full_training():
    plan = HalvingPlan.make(40_960, 8, rungs=3, granularity=4_096)
    assert _cost(plan, 8) / (8 * 40_960) == pytest.approx(0.525)
    plan = HalvingPlan.make(20_480, 8, rungs=3, granularity=4_096)
    assert _cost(plan, 8) / (8 * 20_480) == pytest.approx(0.50)   # rounded up: 8,192 / 12,288 / 20,480 = 0.60


def test_a_tie_needs_the_same_success_and_metrics_within_their_noise():
    noisy_a = _outcome("a", [0.1, -0.6, 0.5, -0.2, 0.3])
    noisy_b = _outcome("b", [-0.1, 0.4, -0.5, 0.2, -0.3])
    assert tied(noisy_a, noisy_b, UPRIGHT)  # means 0.02 and -0.06, standard errors ~0.2 each
    steady_a = _outcome("a", [0.30, 0.31, 0.29, 0.30, 0.30])
    steady_b = _outcome("b", [0.10, 0.11, 0.09, 0.10, 0.10])
    assert not tied(steady_a, steady_b, UPRIGHT)
    solved = _outcome("s", [0.95, 0.96, 0.94, 0.95, 0.95], success=1.0)
    assert not tied(solved, _outcome("n", [0.95, 0.96, 0.94, 0.95, 0.95], success=0.8), UPRIGHT)
    single = _outcome("one", [0.30])
    assert not tied(single, _outcome("other", [0.31]), UPRIGHT)  # one episode each: nothing to judge noise by
    assert tied(single, _outcome("same", [0.30]), UPRIGHT)


def _halve(outcomes: dict[str, TrainOutcome], keep_ties: bool) -> dict[str, int]:
    jobs = [TrainJob(candidate_id=cid, card=None, success=UPRIGHT, out_dir="unused") for cid in outcomes]  # type: ignore[arg-type]
    _, pruned_at = successive_halving(jobs, InlineExecutor(), HalvingPlan((1000, 2000), 2, keep_ties=keep_ties),
                                      UPRIGHT, train=lambda job: outcomes[job.candidate_id])
    return pruned_at


def test_a_rung_keeps_the_candidates_its_evaluation_cannot_tell_from_the_last_one_kept():
    outcomes = {
        "spins": _outcome("spins", [0.06, 0.07, 0.05, 0.06, 0.06]),         # steady, a little above the rest
        "learning": _outcome("learning", [0.5, -0.9, 0.6, -0.8, 0.4]),       # noisy: mean -0.04
        "hangs": _outcome("hangs", [-1.0, -0.99, -1.0, -1.0, -0.99]),
        "constant": _outcome("constant", [-0.93, -0.95, -0.92, -0.94, -0.93]),
    }
    assert _halve(outcomes, keep_ties=True) == {"hangs": 0, "constant": 0}
    # with ties kept, "learning" goes on beside "spins" though 2 of 4 is what halving asked for; so does the
    # next in line when it is within the noise of the cut
    outcomes["hangs"] = _outcome("hangs", [0.2, -0.7, 0.3, -0.9, 0.1])
    assert _halve(outcomes, keep_ties=True) == {"constant": 0}
    assert _halve(outcomes, keep_ties=False) == {"hangs": 0, "constant": 0}
