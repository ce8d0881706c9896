"""Episodic tasks: the reward withheld until the episode ends (issue 11, item 2)."""

from __future__ import annotations

import numpy as np
import pytest

from reward_coder.latent.episodic import EpisodicReward, episodic_env_fns, is_episodic_task
from reward_coder.tasks import resolve_task

EPISODIC_TASKS = ["halfcheetah/run-forward-episodic", "hopper/hop-forward-episodic",
                  "walker2d/walk-forward-episodic", "ant/walk-forward-episodic"]


@pytest.mark.parametrize("key", EPISODIC_TASKS)
def test_episodic_tasks_resolve_with_a_person_written_metric(key):
    task = resolve_task(key, None, None)
    assert task.named and is_episodic_task(task.key)
    assert task.success.written_by == "person" and task.success.kind != "native_return_above"
    assert "only once, at its end" in task.instruction


def test_only_names_ending_in_episodic_are_episodic():
    assert not is_episodic_task("halfcheetah/run-forward")
    assert not is_episodic_task("hopper/episodic-hop")


def rollout(env, steps, seed=0):
    env.reset(seed=seed)
    rewards, dense, ends = [], [], []
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        obs, reward, terminated, truncated, info = env.step(rng.uniform(-1, 1, env.action_space.shape))
        rewards.append(reward)
        dense.append(info["dense_reward"])
        ends.append(terminated or truncated)
        if terminated or truncated:
            assert info["episodic_return"] == pytest.approx(sum(dense[len(dense) - len(rewards) + _start(ends):]))
            env.reset()
    return np.array(rewards), np.array(dense), np.array(ends)


def _start(ends):
    """Index of the first step of the episode that just ended (within the lists so far)."""
    done = [i for i, e in enumerate(ends[:-1]) if e]
    return done[-1] + 1 if done else 0


def test_reward_is_zero_until_the_end_and_then_the_episode_sum():
    task = resolve_task("halfcheetah/run-forward-episodic", None, None)
    env = episodic_env_fns(task.card, 1, seed=0, max_episode_steps=20)[0]()
    rewards, dense, ends = rollout(env, 45)
    assert np.flatnonzero(ends).tolist() == [19, 39]
    assert np.all(rewards[~ends] == 0.0)
    assert rewards[19] == pytest.approx(dense[:20].sum()) and rewards[39] == pytest.approx(dense[20:40].sum())
    assert rewards.sum() == pytest.approx(dense[:40].sum())
    env.close()


def test_an_early_termination_ends_the_episode_too():
    import gymnasium

    class Falls(gymnasium.Env):
        observation_space = gymnasium.spaces.Box(-1, 1, (1,))
        action_space = gymnasium.spaces.Box(-1, 1, (1,))

        def reset(self, *, seed=None, options=None):
            self.t = 0
            return np.zeros(1, np.float32), {}

        def step(self, action):
            self.t += 1
            return np.zeros(1, np.float32), 2.0, self.t == 4, False, {}

    env = EpisodicReward(Falls())
    rewards, dense, ends = rollout(env, 8)
    assert rewards.tolist() == [0, 0, 0, 8.0, 0, 0, 0, 8.0]
