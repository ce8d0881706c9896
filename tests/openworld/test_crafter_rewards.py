"""Rewards on Crafter: 17 discrete actions and per-episode memory in the sandbox check and in training,
and the hand-written stand-in answers of crafter/collect-wood checked on real game states."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("crafter")

from reward_coder.envs import get_card, sample_transitions  # noqa: E402
from reward_coder.extract import ExtractionError, extract_reward_code  # noqa: E402
from reward_coder.sandbox import GuardedReward, SandboxedReward, check_candidate, require_isolation  # noqa: E402
from reward_coder.train.sb3 import make_vec_env  # noqa: E402
from reward_coder.train.vec_reward import RewardVecWrapper  # noqa: E402

STANDINS = Path(__file__).parents[2] / "reward_coder" / "standins" / "crafter-collect-wood.handwritten-standin.jsonl"

# counts the steps of the episode in memory and records the action index it was given
MEMORY_AND_ACTIONS = """import numpy as np

def compute_reward(state, action, next_state, memory):
    count = np.zeros(len(memory))
    for i in range(len(memory)):
        memory[i]["steps"] = memory[i].get("steps", 0) + 1
        count[i] = memory[i]["steps"]
    return count, {"count": count, "action": 1.0 * action}
"""


@pytest.fixture(scope="module")
def crafter_states():
    card = get_card("crafter")
    return card, sample_transitions(card, n_envs=2, n_steps=40, seed=0, max_episode_steps=15)


def test_the_check_gets_action_indices_of_all_17_actions_and_memory_emptied_per_episode(crafter_states) -> None:
    card, batch = crafter_states
    assert batch.action.dtype.kind == "i" and batch.action.min() >= 0 and batch.action.max() <= 16
    assert len(np.unique(batch.action)) >= 12  # random and scripted choices cover most of the 17
    report = check_candidate(MEMORY_AND_ACTIONS, field_names=card.field_names(), batches=batch,
                             isolation=require_isolation(False))
    assert report.ok, [issue.describe() for issue in report.errors]
    assert report.reward_stats.min == 1.0 and report.reward_stats.max == 15.0  # episodes of 15 steps
    assert report.term_stats["action"].max <= 16.0


def test_training_wrapper_empties_memory_at_each_crafter_auto_reset() -> None:
    card = get_card("crafter")
    fields = ("tree_distance",)
    reward = GuardedReward(SandboxedReward(MEMORY_AND_ACTIONS, field_names=fields, isolation=require_isolation(False)))
    venv = RewardVecWrapper(make_vec_env(card, 2, seed=0, max_episode_steps=4, fields=fields), reward, card, fields)
    try:
        venv.reset()
        counts = []
        for _ in range(9):
            venv.step_async(np.array([5, 16]))
            _, rewards, _, _ = venv.step_wait()
            counts.append(rewards.tolist())
    finally:
        venv.close()
    assert [row[0] for row in counts] == [1, 2, 3, 4, 1, 2, 3, 4, 1]
    assert [row[1] for row in counts] == [1, 2, 3, 4, 1, 2, 3, 4, 1]


def _standin_codes() -> dict[str, list[str]]:
    codes: dict[str, list[str]] = {}
    for text in STANDINS.read_text().splitlines():
        record = json.loads(text)
        assert record["model"] == "handwritten-standin" and "HAND-WRITTEN STAND-IN" in record["note"]
        key = f"{record['purpose']}:{record['iteration']}:{record['label']}"
        codes[key] = []
        for sample in record["samples"]:
            extracted = extract_reward_code(sample)
            codes[key].append("" if isinstance(extracted, ExtractionError) else extracted.code)
    return codes


def test_the_standins_pass_or_fail_the_check_on_real_crafter_states_as_written(crafter_states) -> None:
    card, batch = crafter_states
    codes = _standin_codes()
    designs = codes["designer:0:"]
    assert len(designs) == 4

    def check(code: str):
        return check_candidate(code, field_names=card.field_names(), batches=batch, isolation=require_isolation(False))

    good, farmed, no_memory, broken = (check(code) for code in designs)
    assert good.ok and farmed.ok and no_memory.ok  # the traps are for the critic: they run fine
    assert not broken.ok and "inventory_wood" in " ".join(issue.describe() for issue in broken.errors)
    assert check(codes["repair:0:c3-r0"][0]).ok
    assert "memory" in designs[0] and "memory" not in designs[2]
    revision = codes["critic:0:c2-r0"][0]  # the critic's fix of the missing memory
    assert "memory" in revision and check(revision).ok
