"""The trainer's TensorBoard callback: reward terms and evaluations land in the same run as SB3's scalars."""

import json

import pytest

from reward_coder.envs import get_card
from reward_coder.reward.compile import InProcessReward
from reward_coder.outcomes import CurvePoint
from reward_coder.train.sb3 import make_vec_env, training_env
from reward_coder.train.tb_callback import PROGRESS_FILE, log_evaluation, trainer_callbacks

pytest.importorskip("tensorboard")

CODE = """import numpy as np

def compute_reward(state, action, next_state):
    height = next_state.cos_theta
    effort = -0.001 * np.sum(action ** 2, axis=1)
    return height + effort, {"height": height, "effort": effort}
"""


def test_reward_terms_and_evaluation_are_logged(tmp_path):
    from stable_baselines3 import PPO
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    card = get_card("pendulum")
    venv, _, _ = training_env(make_vec_env(card, 2, seed=0, max_episode_steps=16), InProcessReward(CODE), card,
                              ("cos_theta",))
    model = PPO("MlpPolicy", venv, n_steps=32, batch_size=32, n_epochs=1, seed=0, device="cpu",
                tensorboard_log=str(tmp_path / "tb"))
    model.learn(total_timesteps=128, callback=trainer_callbacks(tmp_path), tb_log_name="train")
    log_evaluation(model, CurvePoint(timesteps=128, success_rate=0.5, metric=0.1, native_return=-900.0,
                                     length=16.0, wall_s=1.0))
    venv.close()

    runs = list((tmp_path / "tb").iterdir())
    assert len(runs) == 1
    accumulator = EventAccumulator(str(runs[0]))
    accumulator.Reload()
    tags = set(accumulator.Tags()["scalars"])
    assert {"reward_terms/height", "reward_terms/effort"} <= tags
    assert {"rollout/candidate_return_mean", "rollout/native_return_mean", "rollout/ep_rew_mean"} <= tags
    assert {"eval/success_rate", "eval/native_return"} <= tags
    # each return under its own name: the candidate's (cos_theta-based, within [-16, 16] over 16 steps)
    # is what SB3's ep_rew_mean shows now; Pendulum's own return is far below it (about -16 * 5)
    candidate = accumulator.Scalars("rollout/candidate_return_mean")[-1].value
    native = accumulator.Scalars("rollout/native_return_mean")[-1].value
    assert -16.5 <= candidate <= 16.5
    assert native < -20.0
    assert accumulator.Scalars("rollout/ep_rew_mean")[-1].value == pytest.approx(candidate, abs=1e-3)
    (success,) = accumulator.Scalars("eval/success_rate")
    assert (success.step, success.value) == (128, 0.5)

    progress = json.loads((tmp_path / PROGRESS_FILE).read_text())
    assert progress["timesteps"] == 128
