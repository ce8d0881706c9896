"""Open-world episode facts (deaths by cause, first success, stuck), the Crafter score and the analyzer's text."""

from __future__ import annotations

import numpy as np
import pytest

from reward_coder.envs import get_card
from reward_coder.openworld.analysis import open_world_findings
from reward_coder.openworld.crafter_env import ACHIEVEMENTS
from reward_coder.openworld.episodes import crafter_score, death_cause, episode_facts

NONE = 10.0


def _trajectory(steps: int, **last: float) -> dict[str, np.ndarray]:
    """A T-step trajectory: full vitals, nothing in view, the player walking right; `last` sets the final step."""
    t = {name: np.full(steps, 9.0) for name in ("health", "food", "drink", "energy")}
    t.update({f"{k}_distance": np.full(steps, NONE) for k in ("lava", "zombie", "skeleton", "tree")})
    t["position"] = np.stack([32 + np.arange(steps), np.full(steps, 32)], axis=1).astype(float)
    t["unlocked"] = np.zeros((steps, len(ACHIEVEMENTS)))
    for name, value in last.items():
        t[name][-1] = value
    return t


@pytest.mark.parametrize("last, before, cause", [
    ({"health": 0, "lava_distance": 0}, 9, "lava"),
    ({"health": 0, "zombie_distance": 1}, 2, "zombie"),
    ({"health": 0, "skeleton_distance": 4}, 2, "skeleton"),
    ({"health": 0, "food": 0}, 1, "starvation"),
    ({"health": 0, "drink": 0, "energy": 0}, 1, "thirst"),
    ({"health": 0, "energy": 0}, 1, "exhaustion"),
    ({"health": 0, "zombie_distance": 1, "food": 0}, 1, "starvation"),  # a 1-point loss is no zombie hit
    ({"health": 0, "zombie_distance": 1}, 1, "zombie"),  # the last point, taken by a hit
    ({"health": 0}, 1, "unknown"),
])
def test_death_causes_follow_crafters_rules(last, before, cause) -> None:
    trajectory = _trajectory(5, **last)
    trajectory["health"][-2] = before
    assert death_cause(trajectory) == cause


def test_episode_facts_first_success_stuck_and_achievements() -> None:
    card = get_card("crafter")
    success = card.task("collect-wood").success
    walking = _trajectory(150)
    walking["unlocked"][40:, ACHIEVEMENTS.index("collect_wood")] = 1
    walking["unlocked"][90:, ACHIEVEMENTS.index("place_table")] = 1
    facts = episode_facts(card, walking, success, terminated=False)
    assert facts["first_success_step"] == 41 and not facts["died"] and facts["death_cause"] is None
    assert facts["achievements"] == ["collect_wood", "place_table"]
    assert facts["cells_visited"] == 150 and not facts["stuck"]
    standing = _trajectory(150, health=0, lava_distance=0)
    standing["position"][:] = [32, 32]
    facts = episode_facts(card, standing, success, terminated=True)
    assert facts["died"] and facts["death_cause"] == "lava" and facts["stuck"] and facts["first_success_step"] is None


def test_crafter_score_is_the_published_geometric_mean_of_success_percentages() -> None:
    assert crafter_score([[]])[0] == 0.0
    assert crafter_score([list(ACHIEVEMENTS)])[0] == pytest.approx(100.0)
    score, rates = crafter_score([["collect_wood"], ["collect_wood", "place_table"], [], []])
    assert rates["collect_wood"] == 50.0 and rates["place_table"] == 25.0 and rates["wake_up"] == 0.0
    expected = np.exp((np.log(51.0) + np.log(26.0)) / 22) - 1  # the 20 others contribute ln(1) = 0
    assert score == pytest.approx(expected)


def test_the_analyzer_counts_deaths_by_cause_stuck_episodes_and_achievements() -> None:
    episodes = [
        {"open_world": {"died": True, "death_cause": "lava", "first_success_step": None, "cells_visited": 40,
                        "stuck": False, "achievements": ["collect_wood"]}},
        {"open_world": {"died": True, "death_cause": "zombie", "first_success_step": 120, "cells_visited": 3,
                        "stuck": True, "achievements": ["collect_wood", "collect_sapling"]}},
        {"open_world": {"died": True, "death_cause": "lava", "first_success_step": 80, "cells_visited": 60,
                        "stuck": False, "achievements": []}},
        {"open_world": {"died": False, "death_cause": None, "first_success_step": 100, "cells_visited": 5,
                        "stuck": True, "achievements": ["collect_wood"]}},
    ]
    text = "; ".join(open_world_findings(episodes))
    assert "died in 3/4 evaluation episodes (by cause: lava 2, zombie 1)" in text
    assert "first success at step 100 (median; 80-120) in 3/4 episodes" in text
    assert "in 2/4 episodes" in text and "collect_wood 3/4" in text and "collect_sapling 1/4" in text
    assert "Crafter score of these 4 episodes" in text
    assert open_world_findings([{"length": 5}]) == []  # other cards get no open-world lines
