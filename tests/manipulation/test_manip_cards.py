"""Meta-World and Fetch cards: they load, every field equals the simulator's own value at the same instant
(after reset, after each step, and at the step that ends an episode), goals change between episodes,
and the success field is the env's success flag."""

from __future__ import annotations

from typing import Any

import gymnasium
import numpy as np
import pytest
from stable_baselines3.common.vec_env import DummyVecEnv

from reward_coder.envs import (
    FieldProbe,
    adapter_for,
    describe_card,
    env_fns,
    fields_from_vec_step,
    get_card,
    list_cards,
    make_env,
    resolve_task,
)
from reward_coder.envs.adapters.metaworld import MAX_PATH_LENGTH, V3_TASKS
from reward_coder.success import episode_outcome, sparse_reward_code

pytest.importorskip("metaworld")
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

METAWORLD_TASKS = (
    "reach", "push", "pick-place", "button-press", "door-open", "door-close", "drawer-open", "drawer-close",
    "window-open", "window-close", "handle-press", "handle-press-side", "sweep-into", "door-unlock", "faucet-open",
)
TRUTH = "test_truth"


class MetaWorldTruth(gymnasium.Wrapper):
    """Below FieldProbe: reads the simulator the way Meta-World's own code does, into info[TRUTH]."""

    def _truth(self, info: dict[str, Any], after_reset: bool) -> dict[str, Any]:
        sim = self.env.unwrapped
        if after_reset:
            self.start = {
                "obj_init_pos": np.array(sim.obj_init_pos, dtype=float),
                "init_tcp_pos": np.array(sim.init_tcp, dtype=float),
            }
        return {
            "hand_pos": np.array(sim.get_endeff_pos()),
            "tcp_pos": np.array(sim.tcp_center),
            "obj_pos": np.array(sim._get_pos_objects()),
            "obj_quat": np.array(sim._get_quat_objects()),
            "goal_pos": np.array(sim._target_pos),
            "hand_init_pos": np.array(sim.hand_init_pos, dtype=float),
            "success": float(info.get("success", 0.0)),
            **self.start,
        }

    def reset(self, **kwargs: Any):
        obs, info = self.env.reset(**kwargs)
        info[TRUTH] = self._truth(info, after_reset=True)
        return obs, info

    def step(self, action: Any):
        obs, reward, terminated, truncated, info = self.env.step(action)
        info[TRUTH] = self._truth(info, after_reset=False)
        return obs, reward, terminated, truncated, info


def _probed_env(card_id: str, max_steps: int, seed: int) -> gymnasium.Env:
    """make_env's stack with the truth recorder right under FieldProbe."""
    card = get_card(card_id)
    adapter = adapter_for(card)
    env = gymnasium.make(card.env_id, max_episode_steps=max_steps, **card.make_kwargs)
    env = FieldProbe(MetaWorldTruth(adapter.wrap_env(env)), adapter)
    env.action_space.seed(seed)
    return env


def _assert_matches(fields: dict[str, np.ndarray], row: int, truth: dict[str, Any], where: str) -> None:
    for name, value in fields.items():
        if name not in truth:
            continue
        np.testing.assert_allclose(value[row], truth[name], atol=1e-9, rtol=0, err_msg=f"{name} ({where})")


def _assert_progress_is_the_success_distance(card, fields: dict[str, np.ndarray], obs: np.ndarray,
                                             info: dict[str, Any], where: str) -> None:
    """The card's progress distance equals the env's own obj_to_target (door-open: |dx|, as its evaluate_state
    computes it), so 'progress <= threshold' is exactly Meta-World's success test."""
    from reward_coder.evaluate import distance_series

    spec = next(d for d in card.distances if d.name == card.progress.distance)
    expected = abs(obs[4] - info[TRUTH]["goal_pos"][0]) if card.id == "metaworld-door-open" else info["obj_to_target"]
    assert distance_series(spec, fields)[0] == pytest.approx(expected, abs=1e-9), f"{spec.name} ({where})"


def test_every_issue_task_has_a_valid_card_with_a_named_task() -> None:
    ids = {card.id for card in list_cards()}
    for name in METAWORLD_TASKS:
        card, task = resolve_task(f"metaworld-{name}/{name}")
        assert card.make_kwargs["env_name"] == f"{name}-v3" and card.make_kwargs["env_name"] in V3_TASKS
        assert card.train.max_episode_steps == MAX_PATH_LENGTH
        assert task.success.kind == "info_flag" and task.success.params == {"key": "success"}
        assert {"hand_pos", "tcp_pos", "gripper_openness", "obj_pos", "goal_pos", "success", "obs"} <= set(card.field_names())
        assert sparse_reward_code(task.success, card.field_names()) is not None
        assert f"task {name}-v3" in card.description and card.description in " ".join(describe_card(card).split()).replace("- ", "-")
    assert {f"metaworld-{name}" for name in METAWORLD_TASKS} <= ids


@pytest.mark.parametrize("name", METAWORLD_TASKS)
def test_metaworld_fields_match_the_simulator_through_an_episode_end(name: str) -> None:
    card_id = f"metaworld-{name}"
    card = get_card(card_id)
    adapter = adapter_for(card)
    env = _probed_env(card_id, max_steps=6, seed=0)
    obs, info = env.reset(seed=1)
    _assert_matches(adapter.fields(obs[None], [info["rc_probe"]]), 0, info[TRUTH], "after reset")
    ends = 0
    for step in range(14):
        obs, _reward, terminated, truncated, info = env.step(env.action_space.sample())
        fields = adapter.fields(obs[None], [info["rc_probe"]])
        _assert_matches(fields, 0, info[TRUTH], f"step {step}")
        np.testing.assert_array_equal(fields["obs"][0], obs)
        _assert_progress_is_the_success_distance(card, fields, obs, info, f"step {step}")
        assert not terminated, "Meta-World episodes are truncated, never terminated"
        if truncated:
            ends += 1
            obs, info = env.reset()
            _assert_matches(adapter.fields(obs[None], [info["rc_probe"]]), 0, info[TRUTH], "after episode end")
    assert ends == 2
    env.close()


@pytest.mark.parametrize("name", ["reach", "door-unlock"])
def test_metaworld_vec_env_scores_the_terminal_state_and_restarts_from_the_reset_state(name: str) -> None:
    """door-unlock keeps a live view of the lock in obj_init_pos: the field must still be the start value."""
    card_id = f"metaworld-{name}"
    adapter = adapter_for(get_card(card_id))
    venv = DummyVecEnv([lambda i=i: _probed_env(card_id, max_steps=5, seed=i) for i in range(2)])
    venv.seed(7)
    obs = venv.reset()
    state = adapter.fields(obs, [info["rc_probe"] for info in venv.reset_infos])
    for i in range(2):
        _assert_matches(state, i, venv.reset_infos[i][TRUTH], "after reset")
    rng = np.random.default_rng(0)
    ends = 0
    for _ in range(11):
        obs, _rewards, dones, infos = venv.step(rng.uniform(-1, 1, size=(2, 4)).astype(np.float32))
        next_state, state_after = fields_from_vec_step(adapter, obs, infos, dones, venv.reset_infos)
        for i in range(2):
            _assert_matches(next_state, i, infos[i][TRUTH], "next_state")
            if dones[i]:
                ends += 1
                _assert_matches(state_after, i, venv.reset_infos[i][TRUTH], "state after reset")
    assert ends == 4
    venv.close()


def test_goals_change_between_episodes_and_follow_the_reset_seed() -> None:
    card = get_card("metaworld-reach")
    env = make_env(card, seed=0)
    goals = []
    for _ in range(6):
        obs, _info = env.reset()
        goals.append(tuple(np.round(obs[36:39], 6)))
    assert len(set(goals)) >= 5, f"every reset should draw a new goal, got {goals}"
    replay = make_env(card, seed=0)
    assert tuple(np.round(replay.reset()[0][36:39], 6)) == goals[0], "a seeded env repeats its goals"
    # parallel envs (seed + i) start from different goals: the reset seed reaches MT1's task sampler
    starts = [fn().reset()[0][36:39] for fn in env_fns(card, 3, seed=0)]
    assert len({tuple(np.round(s, 6)) for s in starts}) == 3
    # the same holds for a task whose goal is its object's position plus an offset
    door = make_env(get_card("metaworld-door-open"), seed=0)
    assert len({tuple(np.round(door.reset()[0][36:39], 6)) for _ in range(4)}) >= 3


def test_success_field_is_the_env_success_flag_and_decides_the_episode() -> None:
    """A scripted reacher (move the fingertips at the goal) succeeds; the field tracks info['success']."""
    card, task = resolve_task("metaworld-reach/reach")
    adapter = adapter_for(card)
    env = make_env(card, seed=3, max_episode_steps=120)
    obs, info = env.reset()
    fields = adapter.fields(obs[None], [info["rc_probe"]])
    assert fields["success"][0] == 0.0
    flags, infos, trajectory = [], [], []
    for _ in range(120):
        action = np.clip((fields["goal_pos"][0] - fields["tcp_pos"][0]) * 30.0, -1, 1)
        obs, _reward, _terminated, truncated, info = env.step(np.append(action, -1.0).astype(np.float32))
        fields = adapter.fields(obs[None], [info["rc_probe"]])
        assert fields["success"][0] == float(info["success"])
        flags.append(fields["success"][0])
        infos.append(info)
        trajectory.append(fields["success"][0])
        if truncated:
            break
    assert 1.0 in flags and 0.0 in flags
    outcome = episode_outcome(task.success, {"success": np.array(trajectory)}, 0.0, len(flags), infos)
    assert outcome.success


def test_metaworld_card_refuses_unknown_tasks_and_obs_changing_options(tmp_path) -> None:
    import yaml

    from reward_coder.envs import load_card
    from reward_coder.errors import CardError
    from reward_coder.resources import data_dir

    data = yaml.safe_load((data_dir("envs") / "metaworld-reach.yaml").read_text())
    path = tmp_path / "card.yaml"
    data["make_kwargs"]["env_name"] = "reach-v2"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(CardError, match="v3 task"):
        load_card(path)
    data["make_kwargs"].update(env_name="reach-v3", use_one_hot=True)
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(CardError, match="use_one_hot"):
        load_card(path)


def test_fetch_reach_progress_decides_success_like_the_env() -> None:
    from reward_coder.evaluate import evaluate_policy

    pytest.importorskip("gymnasium_robotics")
    card, task = resolve_task("fetch-reach/reach")

    def reacher(obs: np.ndarray) -> np.ndarray:  # move the gripper at the goal (1.0 = 5 cm per step)
        return np.append(np.clip((obs[3:6] - obs[6:9]) / 0.05, -1, 1), 0.0).astype(np.float32)

    result = evaluate_policy(reacher, card, task.success, episodes=2, seed=0)
    for episode in result.episodes:
        assert episode.progress == episode.distance_finals["hand_goal"]
        assert episode.success == (episode.progress < 0.05)
    assert all(e.success for e in result.episodes)
    assert result.summary()["progress_mean"] < 0.05
