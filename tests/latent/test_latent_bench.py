"""The latent-mode benchmark's plan and its figures over seeds (issue 11, item 4)."""

from __future__ import annotations


import pytest

from reward_coder.bench.latent import LatentBench, jobs, markdown, standin_factors, summarize
from reward_coder.outcomes import CurvePoint, TrainOutcome

TASKS = ("halfcheetah/run-forward-episodic", "hopper/hop-forward-episodic")


@pytest.mark.parametrize("key", TASKS)
def test_standin_factors_exist_and_are_named_as_stand_ins(key):
    code, names, source = standin_factors(key)
    assert "def compute_factors" in code and len(names) >= 3
    assert "stand-in" in source


def test_every_method_gets_the_same_budget_seeds_and_evaluation(tmp_path):
    bench = LatentBench(tasks=TASKS, seeds=(0, 1), total_timesteps=2_000)
    factors = {key: standin_factors(key)[:2] for key in TASKS}
    planned = jobs(bench, tmp_path, factors)
    assert len(planned) == 2 * 5 * 2
    settings = {(j.total_timesteps, j.max_episode_steps, j.eval_every, j.eval_episodes, j.device,
                 tuple(sorted(j.hyperparameters.items()))) for _, j in planned}
    assert len(settings) == 1
    by_method = {j.method: j for _, j in planned if j.seed == 0 and j.card.id == "hopper"}
    assert by_method["latent"].factor_names == factors["hopper/hop-forward-episodic"][1]
    assert "velocity" in " ".join(by_method["rrd"].factor_names) and "action_0" in by_method["rrd"].factor_names
    assert by_method["ircr"].factor_code is None and by_method["dense"].factor_code is None
    assert len({j.out_dir for _, j in planned}) == len(planned)


def outcome(method: str, seed: int, ret: float, status: str = "ok") -> TrainOutcome:
    curve = (CurvePoint(1000, 0.0, 0.0, ret / 2, 200, 1.0), CurvePoint(2000, 0.5, 0.0, ret, 200, 2.0))
    return TrainOutcome(candidate_id=f"{method}-s{seed}", status=status, timesteps=2000, curve=curve,
                        eval={"native_return_mean": ret, "success_rate": 0.5} if status == "ok" else None,
                        failure="" if status == "ok" else "boom", seed=seed)


def test_summary_reports_mean_and_interval_over_finished_seeds_only(tmp_path):
    from types import SimpleNamespace

    bench = LatentBench(tasks=TASKS[:1], methods=("latent", "dense"), seeds=(0, 1, 2))
    job = lambda method: SimpleNamespace(method=method)  # noqa: E731
    results = [(TASKS[0], job("latent"), outcome("latent", s, r)) for s, r in ((0, 10.0), (1, 20.0), (2, 30.0))]
    results += [(TASKS[0], job("dense"), outcome("dense", 0, 50.0)), (TASKS[0], job("dense"), outcome("dense", 1, 0, "crashed"))]
    table = summarize(bench, results)
    latent = table[TASKS[0]]["latent"]
    assert latent["native_return"]["n"] == 3 and latent["native_return"]["mean"] == pytest.approx(20.0)
    assert latent["native_return"]["ci_low"] < 20.0 < latent["native_return"]["ci_high"]
    assert latent["curve"] == [{"timesteps": 1000, "native_return": 10.0, "success_rate": 0.0, "seeds": 3},
                               {"timesteps": 2000, "native_return": 20.0, "success_rate": 0.5, "seeds": 3}]
    dense = table[TASKS[0]]["dense"]
    assert dense["native_return"]["n"] == 1 and dense["failed"] == {"dense-s1": "boom"}
    text = markdown(bench, table, {TASKS[0]: "hand-written stand-in"})
    assert "| latent | 20.0 ± 10.0" in text and "| dense | 50.0 (n=1; no interval) | 0.50 (n=1; no interval) | 1 |" in text
