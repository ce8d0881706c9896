"""The policy observations of Crafter: the symbolic vector trains an MLP, the pixels a CNN, both through the trainer's env."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("crafter")

from reward_coder.envs import get_card  # noqa: E402
from reward_coder.openworld.crafter_env import SYMBOLIC_SIZE  # noqa: E402
from reward_coder.train.sb3 import make_vec_env, policy_name  # noqa: E402


@pytest.mark.parametrize("card_id, shape, policy", [
    ("crafter", (SYMBOLIC_SIZE,), "MlpPolicy"),
    ("crafter-pixels", (64, 64, 3), "CnnPolicy"),
])
def test_each_view_gets_its_policy_and_ppo_learns_a_few_steps(card_id: str, shape: tuple, policy: str) -> None:
    from stable_baselines3 import PPO

    card = get_card(card_id)
    venv = make_vec_env(card, 2, 0, 20, fields=())
    try:
        assert venv.observation_space.shape == shape and venv.action_space.n == 17
        assert policy_name(venv.observation_space) == policy
        model = PPO(policy, venv, n_steps=16, batch_size=32, n_epochs=1, seed=0, device="cpu", verbose=0)
        model.learn(total_timesteps=32)
        action, _ = model.predict(venv.reset(), deterministic=True)
        assert action.shape == (2,) and np.all((0 <= action) & (action < 17))
    finally:
        venv.close()


def test_crafter_cards_evaluate_sampled_actions_and_other_cards_greedy_ones() -> None:
    from reward_coder.envs.cards import load_card
    from reward_coder.errors import CardError
    from reward_coder.resources import data_dir

    assert get_card("crafter").train.eval_deterministic is False
    assert get_card("crafter-pixels").train.eval_deterministic is False
    assert get_card("cartpole").train.eval_deterministic is True
    text = (data_dir("envs") / "crafter.yaml").read_text().replace("eval_deterministic: false", "eval_deterministic: 1")
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bad.yaml"
        path.write_text(text)
        with pytest.raises(CardError, match=r"train.eval_deterministic.*true or false"):
            load_card(path)
