"""`reward-coder train`: one reward file trained through the product's stack, the policy saved and usable."""

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from reward_coder.cli.main import app

REWARD = '''import numpy as np

def compute_reward(state, action, next_state):
    upright = next_state.cos_theta
    effort = 0.001 * np.sum(np.square(action), axis=1)
    return upright - effort, {"upright": upright, "effort": -effort}
'''


def test_a_tiny_training_saves_a_policy_that_loads_with_sb3_and_acts(tmp_path):
    from stable_baselines3 import PPO

    reward = tmp_path / "reward.py"
    reward.write_text(REWARD)
    out = tmp_path / "trained"
    result = CliRunner().invoke(app, [
        "train", str(reward), "--env", "pendulum", "--task", "pendulum/swing-up", "--timesteps", "1024",
        "--hyperparams", "n_steps=128,batch_size=64,policy_kwargs.net_arch=[16,16]", "--eval-episodes", "2",
        "--seed", "3", "--out", str(out), "--device", "cpu"])
    assert result.exit_code == 0, result.output
    assert "policy saved to" in result.output
    record = json.loads((out / "result.json").read_text())
    config = record["config"]
    assert record["status"] == "ok" and record["timesteps"] >= 1024 and record["eval"]["episodes"] == 2
    assert config["algorithm"] == "PPO" and config["task"] == "pendulum/swing-up" and config["seed"] == 3
    assert config["hyperparameters_given"] == {"n_steps": 128, "batch_size": 64, "policy_kwargs": {"net_arch": [16, 16]}}
    assert config["hyperparameters"]["gamma"] == 0.9  # the card's settings under the given ones
    assert (out / "reward.py").read_text() == REWARD

    model = PPO.load(out / "model.zip", device="cpu")
    assert list(model.policy.net_arch["pi"] if isinstance(model.policy.net_arch, dict) else model.policy.net_arch) == [16, 16]
    action, _ = model.predict(np.array([1.0, 0.0, 0.0], dtype=np.float32), deterministic=True)
    assert action.shape == (1,) and -2.0 <= float(action[0]) <= 2.0


def test_bad_inputs_are_one_line_and_train_nothing(tmp_path):
    reward = tmp_path / "reward.py"
    reward.write_text(REWARD)
    cases = [
        (["--env", "pendulum", "--algo", "DQN"], "DQN needs a Discrete action space"),
        (["--env", "pendulum", "--hyperparams", "learning_rat=1e-3"], "did you mean learning_rate?"),
        (["--task", "pendulum/swing-up", "--env", "hopper"], "not of --env hopper"),
        ([], "no environment given"),
    ]
    for args, expected in cases:
        out = tmp_path / "out"
        result = CliRunner().invoke(app, ["train", str(reward), *args, "--out", str(out)])
        assert result.exit_code == 2 and expected in result.output, result.output
        assert not out.exists()
    broken = tmp_path / "broken.py"
    broken.write_text("def compute_reward(state, action, next_state):\n    return next_state.no_such_field, {}\n")
    result = CliRunner().invoke(app, ["train", str(broken), "--env", "pendulum", "--out", str(tmp_path / "b")])
    assert result.exit_code == 2 and "fails its checks" in result.output and "no_such_field" in result.output
    missing = CliRunner().invoke(app, ["train", str(tmp_path / "nope.py"), "--env", "pendulum"])
    assert missing.exit_code == 2 and "not found" in missing.output


@pytest.mark.slow
def test_sac_trains_through_the_same_command_and_saves_a_sac_policy(tmp_path):
    from stable_baselines3 import SAC

    reward = tmp_path / "reward.py"
    reward.write_text(REWARD)
    out = tmp_path / "sac"
    result = CliRunner().invoke(app, [
        "train", str(reward), "--env", "pendulum", "--algo", "sac", "--timesteps", "300", "--eval-episodes", "1",
        "--hyperparams", "learning_starts=100,batch_size=64", "--out", str(out), "--device", "cpu"])
    assert result.exit_code == 0, result.output
    assert json.loads((out / "result.json").read_text())["config"]["algorithm"] == "SAC"
    action, _ = SAC.load(out / "model.zip", device="cpu").predict(np.zeros(3, dtype=np.float32))
    assert action.shape == (1,)
