"""The gymnasium.vector wrapper scores real steps only, across gymnasium's autoreset conventions."""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode

from reward_coder import RewardWrapper, VectorRewardWrapper
from reward_coder.envs import get_card, make_env
from reward_coder.reward import InProcessReward

# x_position comes from the simulator probe, torso_height from the obs: both must be of the same instant
PROGRESS = '''import numpy as np

def compute_reward(state, action, next_state):
    forward = next_state.x_position - state.x_position
    height = next_state.torso_height
    return forward + 0.1 * height, {"forward": forward, "height": 0.1 * height}
'''

STEP_COUNT = '''import numpy as np

def compute_reward(state, action, next_state, memory):
    counts = np.zeros(action.shape[0])
    for i, slot in enumerate(memory):
        slot["t"] = slot.get("t", 0) + 1
        counts[i] = slot["t"]
    return counts, {"t": counts}
'''

LENGTHS = (3, 5, 8)
"""Episode lengths of the three envs: episodes end mid-batch, at different steps for each env."""


@pytest.fixture(scope="module")
def hopper():
    return get_card("hopper")


def _fns(card):
    return [lambda i=i: make_env(card, seed=i, max_episode_steps=LENGTHS[i]) for i in range(len(LENGTHS))]


def _actions(steps):
    return np.random.default_rng(0).uniform(-0.2, 0.2, size=(steps, len(LENGTHS), 3)).astype(np.float32)


def _reference(card, code, index, actions):
    """One env alone through the single-env wrapper (itself checked against the VecEnv wrapper's tests)."""
    env = RewardWrapper(make_env(card, seed=index, max_episode_steps=LENGTHS[index]),
                        InProcessReward(code, card.field_names()), card)
    env.reset()
    rewards = []
    for action in actions:
        _obs, reward, terminated, truncated, _info = env.step(action)
        rewards.append(reward)
        if terminated or truncated:
            env.reset()
    env.close()
    return rewards


@pytest.mark.parametrize("mode", [AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP])
@pytest.mark.parametrize("code", [PROGRESS, STEP_COUNT], ids=["probe-fields", "memory"])
def test_each_env_gets_the_rewards_it_would_get_alone(hopper, mode, code):
    steps = 20
    venv = VectorRewardWrapper(gym.vector.SyncVectorEnv(_fns(hopper), autoreset_mode=mode),
                               InProcessReward(code, hopper.field_names()), hopper)
    venv.reset()
    actions = _actions(steps)
    got = np.zeros((steps, len(LENGTHS)))
    real = np.ones((steps, len(LENGTHS)), dtype=bool)  # False where NEXT_STEP resets instead of stepping
    ended = np.zeros(len(LENGTHS), dtype=bool)
    for t in range(steps):
        if mode == AutoresetMode.NEXT_STEP:
            real[t] = ~ended
        _obs, reward, terminated, truncated, info = venv.step(actions[t])
        got[t] = reward
        assert set(info["reward_terms"]) and info["native_reward"].shape == (len(LENGTHS),)
        ended = terminated | truncated
    venv.close()
    assert (~real).any() == (mode == AutoresetMode.NEXT_STEP), "NEXT_STEP's reset steps must be crossed"
    for i in range(len(LENGTHS)):
        expected = _reference(hopper, code, i, actions[real[:, i], i])
        np.testing.assert_allclose(got[real[:, i], i], expected, rtol=1e-9, atol=1e-12)
        assert np.all(got[~real[:, i], i] == 0.0)  # a reset step is no transition: nothing is paid
    if code is STEP_COUNT:  # memory emptied at every episode start: counts run 1..L in every episode
        assert got[real[:, 0], 0][:7].tolist() == [1, 2, 3, 1, 2, 3, 1]


def test_a_reset_step_is_never_scored_across_the_episode_boundary(hopper):
    # NEXT_STEP: the step after an episode's end returns the reset obs; scoring it would pay the jump
    # from the last x_position of one episode to the first of the next
    venv = VectorRewardWrapper(gym.vector.SyncVectorEnv(_fns(hopper)), InProcessReward(PROGRESS, hopper.field_names()),
                               hopper)
    assert venv.autoreset_mode == AutoresetMode.NEXT_STEP  # gymnasium's default
    venv.reset()
    actions = _actions(4)
    for t in range(3):
        venv.step(actions[t])  # env 0's episode (3 steps) ends at t = 2
    _obs, reward, _te, _tr, info = venv.step(actions[3])
    assert reward[0] == 0.0 and info["reward_terms"]["forward"][0] == 0.0
    assert reward[1] != 0.0 and reward[2] != 0.0


def test_disabled_autoreset_starts_the_rows_you_reset_afresh(hopper):
    venv = VectorRewardWrapper(gym.vector.SyncVectorEnv(_fns(hopper), autoreset_mode=AutoresetMode.DISABLED),
                               InProcessReward(STEP_COUNT, hopper.field_names()), hopper)
    venv.reset()
    actions = _actions(5)
    for t in range(3):
        _obs, reward, terminated, truncated, _info = venv.step(actions[t])
    assert reward.tolist() == [3, 3, 3] and (terminated | truncated).tolist() == [True, False, False]
    venv.reset(options={"reset_mask": np.array([True, False, False])})
    _obs, reward, _te, _tr, _info = venv.step(actions[3])
    assert reward.tolist() == [1, 4, 4]
    venv.close()
