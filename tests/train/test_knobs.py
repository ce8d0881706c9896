"""--algo and --hyperparams reach every training job and are checked against SB3 before any LLM call."""

import dataclasses

import gymnasium as gym
import pytest
from typer.testing import CliRunner

from reward_coder.bench.runner import plan_jobs
from reward_coder.bench.suite import load_suite
from reward_coder.cli.main import app
from reward_coder.config import RunConfig
from reward_coder.errors import ConfigError
from reward_coder.loop import candidate_job
from reward_coder.tasks import resolve_task
from reward_coder.train.knobs import check_action_space, check_hyperparameters
from reward_coder.train.preflight import preflight_job


def _job(tmp_path, **config_changes):
    task = resolve_task("pendulum/swing-up", None, None)
    config = RunConfig(instruction=task.instruction, env=task.card.id, task=task.key, model="replay:standins",
                       **config_changes)
    return candidate_job(config, task, "c0", "", tmp_path, 0)


def test_every_job_of_a_run_trains_with_the_given_algorithm_and_hyperparameters(tmp_path):
    job = _job(tmp_path, hyperparameters={"learning_rate": 3e-4, "policy_kwargs": {"net_arch": [16]}})
    assert job.algorithm == "PPO" and job.hyperparameters["learning_rate"] == 3e-4
    assert job.hyperparameters["n_steps"] == 1024  # the card's own settings stay under the overrides
    assert job.hyperparameters["policy_kwargs"] == {"net_arch": [16]}
    sac = _job(tmp_path, algorithm="SAC", hyperparameters={"learning_starts": 50})
    assert sac.algorithm == "SAC" and sac.hyperparameters == {"learning_starts": 50}
    preflight_job(sac, tmp_path, source="test")  # SAC acts in pendulum's Box


@pytest.mark.parametrize("changes, expected", [
    ({"algorithm": "DQN"}, "DQN needs a Discrete action space"),
    ({"hyperparameters": {"learning_rat": 1e-3}}, "did you mean learning_rate?"),
    ({"hyperparameters": {"policy_kwargs": {"net_arc": [8]}}}, "did you mean net_arch?"),
    ({"hyperparameters": {"seed": 3}}, "set by --seed"),
])
def test_a_bad_combination_is_one_line_in_the_preflight(tmp_path, changes, expected):
    with pytest.raises(ConfigError) as caught:
        preflight_job(_job(tmp_path, **changes), tmp_path, source="card 'pendulum'")
    assert expected in str(caught.value) and "\n" not in str(caught.value)


def test_action_spaces_each_algorithm_needs():
    check_action_space("DQN", gym.spaces.Discrete(3), "x")
    check_action_space("PPO", gym.spaces.Discrete(3), "x")
    with pytest.raises(ConfigError, match="SAC needs a continuous"):
        check_action_space("SAC", gym.spaces.Discrete(3), "card 'x'")
    check_hyperparameters("DQN", {"exploration_fraction": 0.2, "policy_kwargs": {"net_arch": [32]}}, "x")


def test_run_refuses_a_bad_algorithm_before_any_llm_call_or_folder(tmp_path):
    out = tmp_path / "run"
    result = CliRunner().invoke(app, ["run", "--task", "pendulum/swing-up", "--model", "replay:standins",
                                      "--algo", "DQN", "--out", str(out)])
    assert result.exit_code == 2 and "DQN needs a Discrete action space" in result.output
    assert not out.exists()
    result = CliRunner().invoke(app, ["run", "--task", "pendulum/swing-up", "--model", "replay:standins",
                                      "--hyperparams", "batch_sise=64", "--out", str(out)])
    assert result.exit_code == 2 and "did you mean batch_size?" in result.output and not out.exists()


def test_bench_applies_the_knobs_to_every_job_and_records_them_in_the_suite(tmp_path):
    suite = load_suite("pendulum-demo")
    tuned = dataclasses.replace(suite, hyperparameter_overrides={"learning_rate": 5e-4})
    jobs = plan_jobs(tuned, tmp_path)
    assert jobs and all(j.train.hyperparameters["learning_rate"] == 5e-4 for j in jobs)
    assert tuned.fingerprint() != suite.fingerprint()
    assert dataclasses.replace(suite, hyperparameter_overrides=None).fingerprint() == suite.fingerprint()
    sac = plan_jobs(dataclasses.replace(suite, algorithm="SAC"), tmp_path)
    assert all(j.train.algorithm == "SAC" and "n_steps" not in j.train.hyperparameters for j in sac)
    result = CliRunner().invoke(app, ["bench", "pendulum-demo", "--algo", "DQN", "--out", str(tmp_path / "b")])
    assert result.exit_code == 2 and "DQN needs a Discrete action space" in result.output
