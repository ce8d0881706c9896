"""The Fetch cards (gymnasium-robotics): a second manipulation family added as cards plus one adapter.

The adapter flattens Fetch's dict observation; every field must equal the simulator's value at the same
instant, goals must change between episodes, and the success field must be info['is_success'].
"""

from __future__ import annotations

from typing import Any

import gymnasium
import numpy as np
import pytest

from reward_coder.envs import adapter_for, get_card, list_cards, make_env, resolve_task
from reward_coder.success import sparse_reward_code

pytest.importorskip("gymnasium_robotics")


def test_fetch_cards_load_with_their_tasks() -> None:
    ids = {card.id for card in list_cards()}
    assert {"fetch-reach", "fetch-push"} <= ids
    for address in ("fetch-reach/reach", "fetch-push/push"):
        card, task = resolve_task(address)
        assert card.family == "fetch" and task.success.params["field"] == "success"




def _fetch_truth(env: gymnasium.Env, info: dict[str, Any]) -> dict[str, Any]:
    from gymnasium_robotics.utils import mujoco_utils

    sim = env.unwrapped
    truth = {
        "gripper_pos": mujoco_utils.get_site_xpos(sim.model, sim.data, "robot0:grip").copy(),
        "gripper_velocity": mujoco_utils.get_site_xvelp(sim.model, sim.data, "robot0:grip"),
        "goal_pos": sim.goal.copy(),
        "success": float(info.get("is_success", 0.0)),
    }
    if sim.has_object:
        truth["object_pos"] = mujoco_utils.get_site_xpos(sim.model, sim.data, "object0").copy()
        truth["object_velocity"] = mujoco_utils.get_site_xvelp(sim.model, sim.data, "object0")
    return truth


@pytest.mark.parametrize("card_id", ["fetch-reach", "fetch-push"])
def test_fetch_fields_match_the_simulator(card_id: str) -> None:
    card = get_card(card_id)
    adapter = adapter_for(card)
    env = make_env(card, seed=0, max_episode_steps=8)
    assert env.observation_space.shape == (adapter.obs_dim,)
    obs, info = env.reset()
    goals = []
    for step in range(20):
        action = np.array([1.0, 0.5, -0.5, 0.0], dtype=np.float32) if step % 2 else env.action_space.sample()
        obs, _reward, terminated, truncated, info = env.step(action)
        fields = adapter.fields(obs[None], [info["rc_probe"]])
        truth = _fetch_truth(env, info)
        for name, value in truth.items():
            np.testing.assert_allclose(fields[name][0], value, atol=1e-6, rtol=1e-6, err_msg=f"{card_id}.{name}")
        assert not terminated
        if truncated:
            goals.append(tuple(fields["goal_pos"][0]))
            obs, info = env.reset()
    assert len(set(goals)) == 2, "every episode draws a new goal"


def test_fetch_reach_success_field_and_sparse_reward() -> None:
    card, task = resolve_task("fetch-reach/reach")
    adapter = adapter_for(card)
    env = make_env(card, seed=1)
    obs, info = env.reset()
    fields = adapter.fields(obs[None], [info["rc_probe"]])
    seen = []
    for _ in range(card.train.max_episode_steps):
        action = np.clip((fields["goal_pos"][0] - fields["gripper_pos"][0]) * 20.0, -1, 1)
        obs, reward, _terminated, truncated, info = env.step(np.append(action, 0.0).astype(np.float32))
        fields = adapter.fields(obs[None], [info["rc_probe"]])
        assert fields["success"][0] == float(info["is_success"]) == float(reward == 0.0)
        seen.append(fields["success"][0])
    assert truncated and seen[-1] == 1.0 and seen[0] == 0.0
    assert "next_state.success" in (sparse_reward_code(task.success, card.field_names()) or "")
