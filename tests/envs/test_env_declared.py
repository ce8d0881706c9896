"""Cards that define their env alone (family `declared`): field expressions, discrete actions, no Python per env.

The fields of the packaged declared cards must equal the simulator read independently at every step, episode
ends included; a card written to a folder of the user's own works end to end with no code; the expression
language refuses everything outside it; discrete actions reach the reward as int64 indices, in the sandbox and
in training, and an algorithm that needs continuous actions is refused with one line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium
import numpy as np
import pytest
from stable_baselines3.common.vec_env import DummyVecEnv

from reward_coder.envs import FieldProbe, adapter_for, describe_card, fields_from_vec_step, get_card, make_env
from reward_coder.envs.expressions import SourceError, evaluate, parse_source
from reward_coder.envs.sampling import POLICIES, sample_reference, sample_transitions
from reward_coder.errors import CardError, ConfigError

TRUTH = "test_truth"
DECLARED = ["cartpole", "acrobot", "reacher", "inverted-double-pendulum"]


def _wrap(angle: Any) -> np.ndarray:
    return np.arctan2(np.sin(angle), np.cos(angle))


def _truth(sim: Any, env_id: str) -> dict[str, Any]:
    """Each field as the simulator has it, read without the card's expressions."""
    if env_id == "CartPole-v1":
        x, x_dot, theta, theta_dot = (float(v) for v in sim.state)
        return {"cart_position": x, "cart_velocity": x_dot, "pole_angle": theta, "pole_angular_velocity": theta_dot,
                "pole_tip_x": x + 2 * sim.length * np.sin(theta), "pole_tip_height": 2 * sim.length * np.cos(theta)}
    if env_id == "Acrobot-v1":
        t1, t2, v1, v2 = (float(v) for v in sim.state)
        elbow = -sim.LINK_LENGTH_1 * np.cos(t1)
        return {"link1_angle": t1, "link2_angle": t2, "link1_angular_velocity": v1, "link2_angular_velocity": v2,
                "elbow_height": elbow, "tip_height": elbow - sim.LINK_LENGTH_2 * np.cos(t1 + t2)}
    qpos, qvel = sim.data.qpos.copy(), sim.data.qvel.copy()
    if env_id == "Reacher-v5":
        fingertip, target = sim.get_body_com("fingertip")[:2].copy(), sim.get_body_com("target")[:2].copy()
        return {"joint_angles": qpos[:2], "joint_velocities": qvel[:2], "fingertip_pos": fingertip,
                "target_pos": target, "fingertip_to_target": fingertip - target,
                "distance_to_target": np.linalg.norm(fingertip - target)}
    tip = sim.data.site_xpos[sim.model.site("tip").id]
    return {"cart_position": qpos[0], "cart_velocity": qvel[0], "pole_angle": qpos[1], "pole2_angle": qpos[2],
            "pole_angular_velocities": qvel[1:3], "tip_x": tip[0], "tip_height": tip[2]}


ANGLES = {"pole_angle", "link1_angle", "link2_angle", "joint_angles", "pole2_angle"}


class TruthRecorder(gymnasium.Wrapper):
    """Below FieldProbe: the simulator state, read directly, in info after every reset and step."""

    def reset(self, **kwargs: Any):
        obs, info = self.env.reset(**kwargs)
        info[TRUTH] = _truth(self.env.unwrapped, self.env.spec.id)
        return obs, info

    def step(self, action: Any):
        obs, reward, terminated, truncated, info = self.env.step(action)
        info[TRUTH] = _truth(self.env.unwrapped, self.env.spec.id)
        return obs, reward, terminated, truncated, info


def _assert_row(fields: dict[str, np.ndarray], row: int, truth: dict[str, Any], card_id: str, what: str) -> None:
    assert set(fields) == set(truth), f"{card_id}: fields {sorted(fields)} vs truth {sorted(truth)}"
    tolerance = 2e-5 if card_id in ("cartpole", "acrobot") else 1e-9  # classic-control obs are float32
    for name, value in fields.items():
        got, expected = value[row], np.asarray(truth[name], dtype=np.float64)
        if name in ANGLES:
            got, expected = _wrap(got - expected), np.zeros_like(expected)
        assert got.shape == expected.shape, f"{card_id}.{name} shape {got.shape} != {expected.shape}"
        np.testing.assert_allclose(got, expected, atol=tolerance, rtol=0, err_msg=f"{card_id}.{name} ({what})")


def _actions(card, rng: np.random.Generator, n: int) -> np.ndarray:
    if card.action.discrete:
        return rng.integers(0, len(card.action.choices), size=n)
    return rng.uniform(card.action.low, card.action.high, size=(n, *card.action.shape)).astype(np.float32)


@pytest.mark.parametrize("card_id", DECLARED)
def test_declared_fields_match_the_simulator_through_dummy_vec_env(card_id: str) -> None:
    card = get_card(card_id)
    adapter = adapter_for(card)

    def factory(seed: int):
        def build() -> gymnasium.Env:
            env = FieldProbe(TruthRecorder(gymnasium.make(card.env_id, max_episode_steps=7)), adapter)
            env.action_space.seed(seed)
            return env
        return build

    venv = DummyVecEnv([factory(i) for i in range(3)])
    venv.seed(11)
    obs = venv.reset()
    state = adapter.fields(obs, [info.get("rc_probe", {}) for info in venv.reset_infos])
    for i in range(3):
        _assert_row(state, i, venv.reset_infos[i][TRUTH], card_id, "after reset")
    rng = np.random.default_rng(0)
    ends = 0
    for _ in range(16):
        obs, _, dones, infos = venv.step(_actions(card, rng, 3))
        next_state, state_after = fields_from_vec_step(adapter, obs, infos, dones, venv.reset_infos)
        for i in range(3):
            _assert_row(next_state, i, infos[i][TRUTH], card_id, "next_state")  # the terminal state where done
            after = venv.reset_infos[i][TRUTH] if dones[i] else infos[i][TRUTH]
            _assert_row(state_after, i, after, card_id, "state the next step starts from")
        ends += int(dones.sum())
    assert ends >= 3  # episode ends were crossed (time limit or fall)


# --------------------------------------------------------------------------------------------------
# the expression language
# --------------------------------------------------------------------------------------------------

BATCH = {"obs": np.array([[3.0, 4.0, 0.0, 1.0], [0.0, 1.0, 2.0, -1.0]]), "speed": np.array([2.0, -3.0])}


@pytest.mark.parametrize("text, expected", [
    ("obs[1]", [4.0, 1.0]),
    ("obs[0:2]", [[3.0, 4.0], [0.0, 1.0]]),
    ("obs[-1]", [1.0, -1.0]),
    ("norm(obs[0:2])", [5.0, 1.0]),
    ("2 * speed - 1", [3.0, -7.0]),
    ("abs(speed) ** 2 % 5", [4.0, 4.0]),
    ("speed > 0", [1.0, 0.0]),
    ("arctan2(obs[1], obs[0]) / pi", [np.arctan2(4, 3) / np.pi, 0.5]),
    ("clip(speed, -1, 1)", [1.0, -1.0]),
    ("stack(speed, obs[3])", [[2.0, 1.0], [-3.0, -1.0]]),
    ("dot(obs[0:2], obs[2:4])", [4.0, -1.0]),
    ("wrap_angle(obs[0] + 2 * pi)", [3.0, 0.0]),
    ("wrap_angle(obs[0] + 1)", [4.0 - 2 * np.pi, 1.0]),
    ("0.45", 0.45),
])
def test_sources_evaluate_per_env_on_the_whole_batch(text: str, expected: Any) -> None:
    source = parse_source(text, ("speed",))
    np.testing.assert_allclose(evaluate(source, BATCH), expected)


@pytest.mark.parametrize("text, words", [
    ("__import__('os')", "calls something other than the functions"),
    ("obs.shape", "neither obs"),
    ("obs.__class__", "public attribute names only"),
    ("sim.data.__class__", "public attribute names only"),
    ("sim._private", "public attribute names only"),
    ("sim.data.body(1).xpos", "with one name"),
    ("sim.reset()", "may only call"),
    ("open('x')", "calls something other than the functions"),
    ("(lambda: 1)()", "calls something other than"),
    ("[x for x in obs]", "ListComp"),
    ("obs[speed]", "whole numbers"),
    ("'text'", "not a number"),
    ("later_field + 1", "not a known name"),
    ("obs[0] if obs[1] else 0", "IfExp"),
    ("norm(obs, axis=0)", "keyword"),
    ("obs[0] +", "not an expression"),
])
def test_sources_outside_the_language_are_refused(text: str, words: str) -> None:
    with pytest.raises(SourceError, match=words.replace("(", r"\(")):
        parse_source(text, ("speed",))


def test_info_values_come_from_the_step_with_a_declared_default(write_card, pendulum_card_data) -> None:
    data = dict(pendulum_card_data, family="declared", direction=[])
    data["fields"] = [
        {"name": "cos_theta", "shape": [], "unit": "", "meaning": "cos", "source": "obs[0]"},
        {"name": "bonus", "shape": [], "unit": "", "meaning": "an info value", "source": 'info.get("bonus", -1.0)'},
        {"name": "ratio", "shape": [], "unit": "", "meaning": "an expression of both", "source": "bonus / 2"},
    ]
    for task in data["tasks"]:
        task["success"] = {"kind": "field_mean_above", "params": {"field": "cos_theta", "threshold": 0.5}}
    from reward_coder.envs import load_card

    card = load_card(write_card(data))
    adapter = adapter_for(card, ("ratio",))  # reads only what ratio needs
    assert adapter.needs_probe
    probes = [adapter.probe_info({"bonus": 4.0}), adapter.probe_info({})]
    fields = adapter.fields(np.zeros((2, 3)), probes)
    assert list(fields) == ["ratio"]
    np.testing.assert_allclose(fields["ratio"], [2.0, -0.5])


def test_a_bad_source_names_the_card_file_and_field(write_card, pendulum_card_data) -> None:
    from reward_coder.envs import load_card

    data = dict(pendulum_card_data, family="declared")
    data["fields"] = [dict(f) for f in data["fields"]]
    for field, source in zip(data["fields"], ["atan2(obs[1], obs[0])", "obs[0]", "obs[1].__class__", "obs[2]"]):
        field["source"] = source
    path = write_card(data)
    with pytest.raises(CardError) as caught:
        load_card(path)
    message = str(caught.value)
    assert str(path) in message and "fields[2].source" in message and "public attribute names only" in message


def test_a_field_whose_value_has_another_shape_than_declared_says_so() -> None:
    import dataclasses

    card = get_card("cartpole")
    fields = list(card.fields)
    fields[0] = dataclasses.replace(fields[0], shape=(2,))
    adapter = adapter_for(dataclasses.replace(card, fields=tuple(fields)), ("cart_position",))
    with pytest.raises(ValueError, match=r"field 'cart_position' \(source 'obs\[0\]'\) has shape \[\] per env, but the card declares \[2\]"):
        adapter.fields(np.zeros((3, 4)), [])


# --------------------------------------------------------------------------------------------------
# a card alone: a user's folder, no Python
# --------------------------------------------------------------------------------------------------

MOUNTAIN_CAR = """
id: my-mountaincar
env_id: MountainCar-v0
family: declared
description: A car in a valley between two hills must reach the flag on the right hill; its engine is too weak to drive straight up.
fields:
  - {name: position, shape: [], unit: m, meaning: position of the car along the track, source: "obs[0]"}
  - {name: velocity, shape: [], unit: m/s, meaning: velocity of the car, source: "obs[1]"}
  - {name: height, shape: [], unit: m, meaning: height of the track under the car, source: "sin(3 * position) * 0.45 + 0.55"}
  - {name: goal_position, shape: [], unit: m, meaning: position of the flag, source: sim.goal_position}
action:
  description: a push of the car
  neutral: coast
  discrete:
    - {name: push_left, meaning: accelerate towards -x}
    - {name: coast, meaning: no push}
    - {name: push_right, meaning: accelerate towards +x}
train: {algorithm: PPO, total_timesteps: 1000, n_envs: 2, max_episode_steps: 200, eval_episodes: 2}
success: {kind: field_final_above, params: {field: position, threshold: 0.5}, description: the car reaches the flag}
native_reward: -1 per step until the flag is reached
tasks:
  - name: reach-flag
    instruction: Drive the car up to the flag on the right hill.
    success: {kind: field_final_above, params: {field: position, threshold: 0.5}, description: the car reaches the flag}
direction:
  - name: high-vs-low
    good: {description: the car high on the right hill, policy: zero, start: {state: [[0.3, 0.4], [0.0, 0.01]]}, steps: 3}
    bad: {description: the car at the valley bottom, policy: zero, start: {state: [[-0.55, -0.45], [0.0, 0.0]]}, steps: 3}
"""

INDEXED = """import numpy as np

def compute_reward(state, action, next_state):
    push_cost = np.array([0.1, 0.0, 0.1])
    height = next_state.height
    cost = -push_cost[action]
    return height + cost, {"height": height, "cost": cost}
"""


def test_a_card_in_a_user_folder_defines_a_new_env_with_no_python(tmp_path: Path, monkeypatch) -> None:
    from reward_coder.direction import direction_references
    from reward_coder.sandbox import check_candidate

    folder = tmp_path / "cards"
    folder.mkdir()
    (folder / "my-mountaincar.yaml").write_text(MOUNTAIN_CAR)
    monkeypatch.setenv("REWARD_CODER_CARDS", str(folder))
    card = get_card("MountainCar-v0")  # a discrete env no packaged card covers
    assert card.id == "my-mountaincar" and card.action.discrete
    text = describe_card(card)
    assert "int64 numpy array of shape (n_envs,)" in text and "- 1 = coast: no push" in text

    batch = sample_transitions(card, n_envs=2, n_steps=16, seed=0)
    assert batch.action.dtype == np.int64 and set(np.unique(batch.action)) <= {0, 1, 2}
    np.testing.assert_allclose(batch.next_state["goal_position"], 0.5)
    np.testing.assert_allclose(batch.next_state["height"], np.sin(3 * batch.next_state["position"]) * 0.45 + 0.55)
    # the sandbox hands the candidate int64 indices: indexing a table by the action works
    references = direction_references(card, "reach-flag", seed=0)
    report = check_candidate(INDEXED, field_names=card.field_names(), batches=batch, direction=references)
    assert report.ok, report.errors
    assert not [i for i in report.issues if i.rule.startswith("direction")]  # height prefers the hill


# --------------------------------------------------------------------------------------------------
# discrete actions: cards, sampling, training
# --------------------------------------------------------------------------------------------------

def test_discrete_sampling_gives_valid_indices_of_every_action() -> None:
    card = get_card("acrobot")
    for name in POLICIES:
        batch = sample_transitions(card, n_envs=4, n_steps=24, seed=1, policies=(name,))
        assert batch.action.dtype == np.int64 and batch.action.shape == (96,)
        assert set(np.unique(batch.action)) <= {0, 1, 2}
        if name == "zero":
            assert set(np.unique(batch.action)) == {card.action.neutral_index()}
        else:
            assert set(np.unique(batch.action)) == {0, 1, 2}, name
    good, bad = sample_reference(card, [card.direction[0].good, card.direction[0].bad], seed=0)
    assert good.action.dtype == np.int64 and set(good.action.tolist()) == {1}


@pytest.mark.parametrize("change, key, words", [
    ({"action": {"description": "d", "discrete": [{"name": "a", "meaning": "m"}]}}, "action.discrete", "at least 2"),
    ({"action": {"description": "d", "discrete": [{"name": "a", "meaning": "m"}, {"name": "a", "meaning": "m"}]}},
     "action.discrete[1].name", "unique"),
    ({"action": {"description": "d", "neutral": "stop", "discrete": [{"name": "a", "meaning": "m"}, {"name": "b", "meaning": "m"}]}},
     "action.neutral", "not one of the actions"),
    ({"train": {"algorithm": "SAC"}}, "train.algorithm", "continuous (Box) actions"),
    ({"train": {"hyperparameters": {"use_sde": True}}}, "train.hyperparameters.use_sde", "continuous actions"),
    ({"train": {"hyperparameters": {"policy_kwargs": {"log_std_init": -2}}}}, "train.hyperparameters.policy_kwargs.log_std_init",
     "continuous actions"),
    ({"direction": [{"name": "p", "good": {"description": "g", "policy": "zero"}, "bad": {"description": "b", "policy": "random"}}]},
     "direction[0].good.policy", "no neutral one"),
])
def test_malformed_discrete_cards_name_the_key(write_card, change, key, words) -> None:
    import yaml

    from reward_coder.envs import load_card
    from reward_coder.resources import data_dir

    data = yaml.safe_load((data_dir("envs") / "cartpole.yaml").read_text())
    for section, value in change.items():
        data[section] = {**data[section], **value} if section == "train" else value
    with pytest.raises(CardError) as caught:
        load_card(write_card(data))
    assert f"key '{key}'" in str(caught.value) and words in str(caught.value)


def test_sac_on_a_discrete_card_is_refused_in_one_line_before_training(tmp_path: Path) -> None:
    import dataclasses

    from reward_coder.config import RunConfig
    from reward_coder.loop import candidate_job
    from reward_coder.tasks import resolve_task
    from reward_coder.train.preflight import preflight_job

    task = resolve_task("cartpole/balance", None, None)
    config = RunConfig(instruction=task.instruction, env=task.card.id, task=task.key, model="replay:standins")
    job = dataclasses.replace(candidate_job(config, task, "preflight", "", tmp_path, 0), algorithm="SAC", hyperparameters={})
    with pytest.raises(ConfigError) as caught:
        preflight_job(job, tmp_path, source="--algo SAC")
    assert "continuous (Box)" in str(caught.value) and "\n" not in str(caught.value)


BALANCE = """import numpy as np

def compute_reward(state, action, next_state):
    upright = 1.0 - np.abs(next_state.pole_angle) / 0.21
    toward = np.where(action == 1, 1.0, -1.0) * np.sign(state.pole_angle)
    return upright + 0.1 * toward, {"upright": upright, "push_toward_lean": 0.1 * toward}
"""


def test_ppo_trains_a_discrete_card_end_to_end(tmp_path: Path) -> None:
    from reward_coder.train.sb3 import TrainJob, train_candidate

    card = get_card("cartpole")
    job = TrainJob(
        candidate_id="c0", card=card, success=card.task("balance").success, out_dir=str(tmp_path / "c0"), code=BALANCE,
        algorithm="PPO", total_timesteps=256, n_envs=2, seed=0, device="cpu",
        hyperparameters={"n_steps": 64, "batch_size": 64, "n_epochs": 1}, eval_episodes=1, eval_every=256,
        max_episode_steps=50, tensorboard=False,
    )
    outcome = train_candidate(job)
    assert outcome.status == "ok", outcome.failure
    assert outcome.timesteps == 256 and outcome.curve


def test_a_simulator_path_the_env_lacks_says_which_and_where(write_card) -> None:
    import yaml

    from reward_coder.envs import load_card
    from reward_coder.resources import data_dir

    data = yaml.safe_load((data_dir("envs") / "cartpole.yaml").read_text())
    data["fields"][0]["source"] = "sim.data.qpos[0]"  # CartPole has no MuJoCo data
    env = make_env(load_card(write_card(data)), seed=0)
    with pytest.raises(ValueError, match=r"card 'cartpole': sim.data.qpos cannot be read from the simulator of CartPole-v1"):
        env.reset()
