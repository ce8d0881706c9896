"""The reward wrappers score the right states, keep the native reward, and fail one candidate cleanly."""

import numpy as np
import pytest
from stable_baselines3.common.vec_env import DummyVecEnv, VecMonitor

from reward_coder import RewardVecWrapper, RewardWrapper, load_reward
from reward_coder.envs import env_fns, get_card, make_env
from reward_coder.reward import InProcessReward, RewardLoadError
from reward_coder.sandbox import GuardedReward, RewardFailure, SandboxedReward

HEIGHT = '''import numpy as np

def compute_reward(state, action, next_state):
    before = state.torso_height
    after = next_state.torso_height
    return after, {"after": after, "before": before}
'''


@pytest.fixture(scope="module")
def hopper():
    return get_card("hopper")


def test_vec_wrapper_scores_the_terminal_step_on_the_terminal_observation(hopper):
    # hopper's torso_height is obs[0]; short episodes force several episode ends within the test
    venv = VecMonitor(DummyVecEnv(env_fns(hopper, 3, seed=0, max_episode_steps=7)))
    wrapped = RewardVecWrapper(venv, InProcessReward(HEIGHT, hopper.field_names()), hopper)
    wrapped.reset()
    ends = 0
    rng = np.random.default_rng(0)
    for _ in range(30):
        actions = rng.uniform(-1, 1, size=(3, 3)).astype(np.float32)
        obs, reward, dones, infos = wrapped.step(actions)
        for i in range(3):
            scored_on = infos[i]["terminal_observation"] if dones[i] else obs[i]
            assert reward[i] == pytest.approx(scored_on[0], rel=1e-6)  # never the reset obs
            assert "native_reward" in infos[i]
        # the step after an episode end starts from the reset observation, not the terminal one
        np.testing.assert_allclose(wrapped._prev["torso_height"], obs[:, 0])
        ends += int(dones.sum())
        for i in np.flatnonzero(dones):
            assert set(infos[i]["episode_terms"]) == {"after", "before"}
    assert ends >= 6
    stats = wrapped.term_log.summary()
    assert set(stats) == {"after", "before"} and stats["after"].mean > 0.5
    wrapped.close()


def test_sandboxed_and_in_process_give_the_same_rewards(hopper, tmp_path):
    path = tmp_path / "best.py"
    path.write_text(HEIGHT)
    rewards = {}
    for sandboxed in (False, True):
        reward_fn = load_reward(path, card=hopper, sandboxed=sandboxed)
        env = RewardWrapper(make_env(hopper, seed=3, max_episode_steps=20), reward_fn, hopper)
        env.reset(seed=3)
        series = []
        for step in range(10):
            _, reward, _, _, info = env.step(np.full(3, 0.3 if step % 2 else -0.3, dtype=np.float32))
            series.append(reward)
            assert isinstance(info["native_reward"], float) and set(info["reward_terms"]) == {"after", "before"}
        env.close()
        rewards[sandboxed] = series
    np.testing.assert_allclose(rewards[False], rewards[True])


def test_load_reward_refuses_unsafe_code_and_missing_files(tmp_path):
    evil = tmp_path / "evil.py"
    evil.write_text("import os\n\ndef compute_reward(state, action, next_state):\n    os.system('id')\n    return 0, {}\n")
    with pytest.raises(RewardLoadError, match="import of 'os'"):
        load_reward(evil, sandboxed=False)
    with pytest.raises(RewardLoadError, match="not found"):
        load_reward(tmp_path / "missing.py")


def test_a_reward_that_turns_nan_mid_training_stops_with_its_step(hopper):
    code = '''import numpy as np

def compute_reward(state, action, next_state):
    v = next_state.forward_velocity
    # fine while the hopper barely moves, NaN once it moves faster: a bug that shows only on some states
    return np.where(np.abs(v) < 0.3, v, np.log(-np.abs(v))), {}
'''
    venv = DummyVecEnv(env_fns(hopper, 2, seed=0, max_episode_steps=50))
    guarded = GuardedReward(SandboxedReward(code, field_names=("forward_velocity",)))
    wrapped = RewardVecWrapper(venv, guarded, hopper, fields=("forward_velocity",))
    wrapped.reset()
    steps = 0
    with pytest.raises(RewardFailure) as failure:
        for steps in range(200):
            wrapped.step(np.full((2, 3), 1.0 if steps % 4 < 2 else -1.0, dtype=np.float32))
    assert failure.value.step == steps > 0  # the call that went bad, not the first
    assert failure.value.kind == "non-finite"
    with pytest.raises(RewardFailure):  # once failed, it stays failed
        wrapped.step(np.zeros((2, 3), dtype=np.float32))
    wrapped.close()
