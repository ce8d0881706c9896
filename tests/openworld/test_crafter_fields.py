"""The crafter card's fields equal the game's own state on real rollouts, the step that ends an episode included.

The truth is read below FieldProbe, straight from the game: the inventory and achievements crafter reports
in its info dict, the player object, and each view cell through the world's own `world[pos]` lookup (no
code of the adapter). One env is walked into lava so that an episode ends by death inside a DummyVecEnv.
"""

from __future__ import annotations

from typing import Any

import gymnasium
import numpy as np
import pytest
from stable_baselines3.common.vec_env import DummyVecEnv

pytest.importorskip("crafter")

from reward_coder.envs import FieldProbe, adapter_for, fields_from_vec_step, get_card  # noqa: E402
from reward_coder.envs.adapters.crafter import NEAREST, NOT_IN_VIEW  # noqa: E402
from reward_coder.openworld.crafter_env import ACHIEVEMENTS, ACTIONS, CREATURES, ITEMS  # noqa: E402

TRUTH = "test_truth"
MOVE_TOWARDS = {(-1, 0): ACTIONS.index("move_left"), (1, 0): ACTIONS.index("move_right"),
                (0, -1): ACTIONS.index("move_up"), (0, 1): ACTIONS.index("move_down")}


def _nearest_truth(game: Any, kind: str) -> tuple[float, list[float]]:
    """Nearest `kind` among the 9x7 cells around the player, by the game's own world lookup."""
    world, (px, py) = game._world, game._player.pos
    best: tuple[float, list[float]] = (NOT_IN_VIEW, [0.0, 0.0])
    for dx in range(-4, 5):
        for dy in range(-3, 4):
            material, obj = world[(px + dx, py + dy)]
            here = (type(obj).__name__.lower() == kind) if kind in CREATURES else material == kind
            if here and abs(dx) + abs(dy) < best[0]:
                best = (float(abs(dx) + abs(dy)), [float(dx), float(dy)])
    return best


def _truth(env: Any, info: dict[str, Any] | None) -> dict[str, Any]:
    game = env.unwrapped.game
    player = game._player
    inventory = info["inventory"] if info else player.inventory
    counts = info["achievements"] if info else player.achievements
    before = env.unwrapped.previous_counts
    truth: dict[str, Any] = {name: inventory[name] for name in ITEMS}
    truth["unlocked"] = [float(counts[a] > 0) for a in ACHIEVEMENTS]
    truth["unlocked_now"] = [float(counts[a] > 0 and before[a] == 0) for a in ACHIEVEMENTS]
    truth["achievement_counts"] = [counts[a] for a in ACHIEVEMENTS]
    truth["position"] = list(info["player_pos"]) if info else list(player.pos)
    truth["facing"] = list(player.facing)
    truth["daylight"] = game._world.daylight
    truth["sleeping"] = float(player.sleeping)
    for kind in NEAREST:
        truth[f"{kind}_distance"], truth[f"{kind}_offset"] = _nearest_truth(game, kind)
    return truth


class TruthRecorder(gymnasium.Wrapper):
    """Below FieldProbe: the game state, read without the adapter, after every reset and step."""

    def reset(self, **kwargs: Any):
        obs, info = self.env.reset(**kwargs)
        info[TRUTH] = _truth(self.env, None)
        return obs, info

    def step(self, action: Any):
        obs, reward, terminated, truncated, info = self.env.step(action)
        info[TRUTH] = _truth(self.env, info)
        return obs, reward, terminated, truncated, info


def _assert_row(fields: dict[str, np.ndarray], row: int, truth: dict[str, Any], what: str) -> None:
    assert set(fields) == set(truth)
    for name, value in fields.items():
        np.testing.assert_array_equal(value[row], np.asarray(truth[name], dtype=np.float64), err_msg=f"{name} ({what})")


def test_crafter_fields_match_the_game_through_dummy_vec_env_including_a_death() -> None:
    card = get_card("crafter")
    adapter = adapter_for(card)

    def build() -> gymnasium.Env:
        return FieldProbe(TruthRecorder(gymnasium.make(card.env_id, max_episode_steps=60)), adapter)

    venv = DummyVecEnv([build, build])
    venv.seed(3)
    obs = venv.reset()
    state = adapter.fields(obs, [info["rc_probe"] for info in venv.reset_infos])
    for i in range(2):
        _assert_row(state, i, venv.reset_infos[i][TRUTH], "after reset")
    rng = np.random.default_rng(0)
    seen = {"death": 0, "time_limit": 0, "unlock": 0, "in_view": set()}
    for t in range(130):
        actions = rng.integers(0, len(ACTIONS), size=2)
        if t <= 25 and actions[0] == ACTIONS.index("sleep"):
            actions[0] = ACTIONS.index("noop")  # a sleeping player ignores moves: keep env 0 awake until the lava
        if t == 25:  # lava on the cell env 0 faces, then step onto it: the episode ends by death
            game = venv.envs[0].unwrapped.game
            target = tuple(game._player.pos + np.array(game._player.facing))
            assert game._world[target][1] is None, "a creature stands where the test puts lava"
            game._world[target] = "lava"
            game._player._recover = 0  # else a health regeneration tick in the same step can leave 1 point
            actions[0] = MOVE_TOWARDS[tuple(int(v) for v in game._player.facing)]
        obs, _, dones, infos = venv.step(actions)
        next_state, state_after = fields_from_vec_step(adapter, obs, infos, dones, venv.reset_infos)
        for i in range(2):
            _assert_row(next_state, i, infos[i][TRUTH], f"next_state at step {t}")  # the terminal state where done
            after = venv.reset_infos[i][TRUTH] if dones[i] else infos[i][TRUTH]
            _assert_row(state_after, i, after, f"state after step {t}")
            seen["unlock"] += int(next_state["unlocked_now"][i].sum())
            seen["in_view"].update(k for k in NEAREST if next_state[f"{k}_distance"][i] < NOT_IN_VIEW)
        if t == 25:
            assert dones[0] and infos[0]["discount"] == 0.0  # crafter's own death flag
            assert next_state["health"][0] == 0 and next_state["lava_distance"][0] == 0
            assert state_after["health"][0] == 9 and state_after["position"][0].tolist() == [32.0, 32.0]
            seen["death"] += 1
        elif dones.any():
            assert all(infos[i].get("TimeLimit.truncated") for i in np.flatnonzero(dones))
            seen["time_limit"] += int(dones.sum())
    assert seen["death"] == 1 and seen["time_limit"] >= 2
    assert seen["unlock"] >= 1  # random play unlocks something (collect_sapling, wake_up, ...)
    assert {"tree", "lava"} <= seen["in_view"]


def test_reset_with_a_seed_gives_the_same_world_and_the_symbolic_view_matches_the_fields() -> None:
    from reward_coder.envs import make_env
    from reward_coder.openworld.crafter_env import CELL_KINDS, SYMBOLIC_SIZE

    card = get_card("crafter")
    env = make_env(card, max_episode_steps=50)
    first, _ = env.reset(seed=7)
    other, _ = env.reset(seed=8)
    again, info = env.reset(seed=7)
    assert first.shape == (SYMBOLIC_SIZE,) and first.dtype == np.float32
    assert np.array_equal(first, again) and not np.array_equal(first, other)
    view = first[: 9 * 7 * len(CELL_KINDS)].reshape(9, 7, len(CELL_KINDS))
    assert np.all(view.sum(axis=-1) == 1.0)  # one kind per cell
    assert view[4, 3, CELL_KINDS.index("player")] == 1.0  # the player in the middle
    probe = info["rc_probe"]
    tree = probe["tree_distance"]
    trees = np.argwhere(view[..., CELL_KINDS.index("tree")] == 1.0) - np.array([4, 3])
    assert tree == (np.abs(trees).sum(axis=1).min() if len(trees) else NOT_IN_VIEW)
    inventory = first[9 * 7 * len(CELL_KINDS): 9 * 7 * len(CELL_KINDS) + len(ITEMS)] * 9
    assert inventory[ITEMS.index("health")] == probe["health"] == 9
    env.close()


def test_the_game_facts_the_card_names_are_crafters_own() -> None:
    import crafter.constants as constants

    assert ACTIONS == tuple(constants.actions)
    assert ACHIEVEMENTS == tuple(constants.achievements)
    assert ITEMS == tuple(constants.items)
    card = get_card("crafter")
    assert [choice.name for choice in card.action.choices] == list(ACTIONS)
    assert card.action.neutral_index() == 0
