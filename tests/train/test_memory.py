"""Per-episode memory is emptied at each episode start: in training (auto-resets), in the sandbox check."""

from __future__ import annotations

import numpy as np

from reward_coder.envs import get_card, sample_transitions
from reward_coder.sandbox import GuardedReward, SandboxedReward, check_candidate, require_isolation
from reward_coder.train.sb3 import make_vec_env
from reward_coder.train.vec_reward import RewardVecWrapper

COUNTING = """import numpy as np

def compute_reward(state, action, next_state, memory):
    count = np.zeros(len(memory))
    for i in range(len(memory)):
        memory[i]["steps"] = memory[i].get("steps", 0) + 1
        count[i] = memory[i]["steps"]
    return count, {"count": count}
"""


def test_memory_is_emptied_at_every_auto_reset_of_a_vec_env():
    card = get_card("pendulum")
    reward = GuardedReward(SandboxedReward(COUNTING, field_names=("cos_theta",), isolation=require_isolation(False)))
    venv = RewardVecWrapper(make_vec_env(card, 2, seed=0, max_episode_steps=5, fields=("cos_theta",)), reward, card,
                            ("cos_theta",))
    try:
        venv.reset()
        counts = []
        for _ in range(12):
            venv.step_async(np.zeros((2, 1)))
            _, rewards, dones, _ = venv.step_wait()
            counts.append(rewards.tolist())
    finally:
        venv.close()
    # every episode lasts 5 steps: the count restarts at 1 on the step after each auto-reset
    expected = [1, 2, 3, 4, 5] * 2 + [1, 2]
    assert [row[0] for row in counts] == expected
    assert [row[1] for row in counts] == expected


def test_the_sandbox_check_replays_rollouts_per_env_with_memory_reset_at_episode_starts():
    card = get_card("pendulum")
    batch = sample_transitions(card, n_envs=4, n_steps=16, seed=0, max_episode_steps=5)
    assert batch.n_envs == 4 and batch.episode_start is not None
    report = check_candidate(COUNTING, field_names=card.field_names(), batches=batch,
                             isolation=require_isolation(False))
    assert report.ok, [issue.describe() for issue in report.errors]
    # counts run 1..5 within each 5-step episode; memory carried across episodes (or kept per row of
    # 64-state chunks) would give other maxima
    assert report.reward_stats.max == 5.0
    assert report.reward_stats.min == 1.0


def test_evaluation_empties_memory_at_each_episode_and_records_the_rewards_own_return():
    from reward_coder.evaluate import evaluate_policy
    from reward_coder.reward.compile import InProcessReward

    card = get_card("pendulum")
    result = evaluate_policy(lambda obs: np.zeros(1), card, card.task("swing-up").success, episodes=3, seed=0,
                             reward_fn=InProcessReward(COUNTING), max_episode_steps=5)
    # 1 + 2 + 3 + 4 + 5 in every episode; without the reset the second episode would sum 6..10
    assert [episode.candidate_return for episode in result.episodes] == [15.0, 15.0, 15.0]
    assert [episode.term_sums["count"] for episode in result.episodes] == [15.0, 15.0, 15.0]
