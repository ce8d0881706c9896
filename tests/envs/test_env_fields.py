"""Every field equals the simulator state read independently, at every step, including episode ends.

The truth is computed below FieldProbe by a recorder wrapper, straight from the simulator at the
moment the obs is produced (for MuJoCo with a full mj_forward on a fresh MjData, a code path the
adapter does not use). The SB3 DummyVecEnv test checks the trap named in the design: at the step that
ends an episode, the fields built from terminal_observation + that step's rc_probe must describe the
terminal state, and the next step must start from the reset state.
"""

from __future__ import annotations

from typing import Any

import gymnasium
import numpy as np
import pytest
from stable_baselines3.common.vec_env import DummyVecEnv

from reward_coder.envs import FieldProbe, adapter_for, fields_from_vec_step, get_card, make_env

TRUTH = "test_truth"
ALL_CARDS = ["pendulum", "mountaincar", "halfcheetah", "hopper", "walker2d", "ant", "humanoid"]
PLANAR_FEET = {
    "HalfCheetah-v5": ("bfoot", "ffoot"),
    "Hopper-v5": ("foot_geom",),
    "Walker2d-v5": ("foot_geom", "foot_left_geom"),
}
SPATIAL_FEET = {
    "Ant-v5": ("left_ankle_geom", "right_ankle_geom", "third_ankle_geom", "fourth_ankle_geom"),
    "Humanoid-v5": ("right_foot", "left_foot"),
}


def _wrap(angle: np.ndarray | float) -> np.ndarray:
    return np.arctan2(np.sin(angle), np.cos(angle))


def _classic_truth(sim: Any, env_id: str) -> dict[str, Any]:
    if env_id == "Pendulum-v1":
        theta, theta_dot = (float(v) for v in sim.state)
        return {
            "theta": _wrap(theta),
            "cos_theta": np.cos(theta),
            "sin_theta": np.sin(theta),
            "angular_velocity": theta_dot,
        }
    position, velocity = (float(v) for v in sim.state)
    return {
        "position": position,
        "velocity": velocity,
        "goal_position": sim.goal_position,
        "height": np.sin(3 * position) * 0.45 + 0.55,
    }


def _lowest_point(data: Any, model: Any, geom: int) -> float:
    """Lowest z of a capsule (both end caps) or sphere, from a full mj_forward."""
    radius = model.geom_size[geom, 0]
    if model.geom_type[geom] == 2:  # sphere
        return float(data.geom_xpos[geom, 2] - radius)
    axis_z = data.geom_xmat[geom].reshape(3, 3)[2, 2]
    half = model.geom_size[geom, 1]
    ends = data.geom_xpos[geom, 2] + np.array([half, -half]) * axis_z
    return float(ends.min() - radius)


def _mujoco_truth(sim: Any, env_id: str) -> dict[str, Any]:
    import mujoco

    model, live = sim.model, sim.data
    qpos, qvel = live.qpos.copy(), live.qvel.copy()
    fresh = mujoco.MjData(model)
    fresh.qpos[:], fresh.qvel[:] = qpos, qvel
    mujoco.mj_forward(model, fresh)
    torso = model.body("torso").id
    floor = model.geom("floor").id
    touching = set()
    for contact in fresh.contact[: fresh.ncon] if fresh.ncon else []:
        pair = {int(contact.geom1), int(contact.geom2)}
        if floor in pair:
            touching |= pair - {floor}
    planar = env_id in PLANAR_FEET
    feet = [model.geom(name).id for name in (PLANAR_FEET | SPATIAL_FEET)[env_id]]
    truth: dict[str, Any] = {
        "x_position": qpos[0],
        "torso_height": fresh.xpos[torso, 2],
        "forward_velocity": qvel[0],
        "foot_height": np.array([_lowest_point(fresh, model, g) for g in feet]),
        "foot_contact": np.array([float(g in touching) for g in feet]),
    }
    if planar:
        truth |= {
            "torso_angle": qpos[2],
            "joint_angles": qpos[3:],
            "vertical_velocity": qvel[1],
            "torso_angular_velocity": qvel[2],
            "joint_velocities": qvel[3:],
        }
        if len(feet) == 1:
            truth["foot_height"], truth["foot_contact"] = truth["foot_height"][0], truth["foot_contact"][0]
        return truth
    rotation = fresh.xmat[torso].reshape(3, 3)
    forces = live.cfrc_ext[1:].copy()
    truth |= {
        "y_position": qpos[1],
        "torso_orientation": fresh.xquat[torso].copy(),
        "upright": rotation[2, 2],
        "yaw": np.arctan2(rotation[1, 0], rotation[0, 0]),
        "joint_angles": qpos[7:],
        "lateral_velocity": qvel[1],
        "vertical_velocity": qvel[2],
        "torso_angular_velocity": qvel[3:6],
        "joint_velocities": qvel[6:],
        "contact_forces": np.clip(forces, -1, 1) if env_id == "Ant-v5" else forces,
    }
    if env_id == "Humanoid-v5":
        truth["head_height"] = fresh.geom_xpos[model.geom("head").id, 2]
        truth["com_position"] = fresh.subtree_com[torso].copy()
    return truth


class TruthRecorder(gymnasium.Wrapper):
    """Below FieldProbe: puts the independently read simulator state into info after reset/step."""

    def _truth(self) -> dict[str, Any]:
        sim, env_id = self.env.unwrapped, self.env.spec.id
        return _classic_truth(sim, env_id) if env_id in ("Pendulum-v1", "MountainCarContinuous-v0") else _mujoco_truth(sim, env_id)

    def reset(self, **kwargs: Any):
        obs, info = self.env.reset(**kwargs)
        info[TRUTH] = self._truth()
        return obs, info

    def step(self, action: Any):
        obs, reward, terminated, truncated, info = self.env.step(action)
        info[TRUTH] = self._truth()
        return obs, reward, terminated, truncated, info


def _tolerance(card_id: str) -> float:
    return 2e-5 if card_id in ("pendulum", "mountaincar") else 1e-9  # classic obs are float32


def _assert_row_matches(fields: dict[str, np.ndarray], row: int, truth: dict[str, Any], card_id: str, what: str) -> None:
    assert set(fields) == set(truth), f"{card_id}: fields {sorted(fields)} vs truth {sorted(truth)}"
    for name, value in fields.items():
        expected = np.asarray(truth[name], dtype=np.float64)
        got = value[row]
        if name in ("theta", "yaw"):
            got, expected = _wrap(got - expected), np.zeros_like(expected)
        assert got.shape == expected.shape, f"{card_id}.{name} shape {got.shape} != {expected.shape}"
        np.testing.assert_allclose(got, expected, atol=_tolerance(card_id), rtol=0, err_msg=f"{card_id}.{name} ({what})")


def _env_factory(card_id: str, seed: int, max_steps: int):
    card = get_card(card_id)

    def build() -> gymnasium.Env:
        env = gymnasium.make(card.env_id, max_episode_steps=max_steps, **card.make_kwargs)
        env = FieldProbe(TruthRecorder(env), adapter_for(card))
        env.action_space.seed(seed)
        return env

    return build


@pytest.mark.parametrize("card_id", ALL_CARDS)
def test_fields_match_simulator_through_dummy_vec_env(card_id: str) -> None:
    card = get_card(card_id)
    adapter = adapter_for(card)
    n_envs, max_steps, n_steps = 3, 7, 30
    if card_id == "humanoid":  # starts ~10 cm above the floor: let it land before the episode ends
        max_steps, n_steps = 16, 34
    venv = DummyVecEnv([_env_factory(card_id, seed=i, max_steps=max_steps) for i in range(n_envs)])
    venv.seed(123)
    obs = venv.reset()
    state = adapter.fields(obs, [info["rc_probe"] for info in venv.reset_infos])
    for i in range(n_envs):
        _assert_row_matches(state, i, venv.reset_infos[i][TRUTH], card_id, "after reset")

    rng = np.random.default_rng(0)
    episode_ends = 0
    contact_seen: set[float] = set()
    for _ in range(n_steps):
        actions = rng.uniform(card.action.low, card.action.high, size=(n_envs, *card.action.shape)).astype(np.float32)
        obs, _, dones, infos = venv.step(actions)
        next_state, state_after = fields_from_vec_step(adapter, obs, infos, dones, venv.reset_infos)
        for i in range(n_envs):
            # the step is scored on what it led to: the terminal state when the episode ended
            _assert_row_matches(next_state, i, infos[i][TRUTH], card_id, "next_state")
            if dones[i]:
                episode_ends += 1
                _assert_row_matches(state_after, i, venv.reset_infos[i][TRUTH], card_id, "state after reset")
                assert not np.array_equal(infos[i]["terminal_observation"], obs[i])
            else:
                _assert_row_matches(state_after, i, infos[i][TRUTH], card_id, "state after step")
        state = state_after
        if "foot_contact" in next_state:
            contact_seen |= set(np.unique(next_state["foot_contact"]).tolist())
    assert episode_ends >= n_envs * (n_steps // max_steps)
    if "foot_contact" in card.field_names():
        assert contact_seen == {0.0, 1.0}, "the rollout should show feet both on and off the floor"


@pytest.mark.parametrize("card_id", ALL_CARDS)
def test_field_shapes_and_dtypes_are_declared(card_id: str) -> None:
    card = get_card(card_id)
    adapter = adapter_for(card)
    env = make_env(card, seed=0)
    observations, probes = [], []
    obs, info = env.reset()
    for _ in range(5):
        observations.append(obs)
        probes.append(info.get("rc_probe", {}))
        obs, _, _, _, info = env.step(env.action_space.sample())
    fields = adapter.fields(np.stack(observations), probes)
    assert list(fields) == list(card.field_names())
    for spec in card.fields:
        value = fields[spec.name]
        assert value.shape == (5, *spec.shape), spec.name
        assert value.dtype == np.float64, spec.name
        assert np.all(np.isfinite(value)), spec.name


def test_fields_do_not_share_memory_with_obs() -> None:
    card = get_card("halfcheetah")
    adapter = adapter_for(card)
    env = make_env(card, seed=0)
    obs, info = env.reset()
    batch = np.stack([obs, obs])
    fields = adapter.fields(batch, [info["rc_probe"]] * 2)
    fields["torso_angle"] += 100.0
    fields["joint_angles"][:] = 0.0
    np.testing.assert_array_equal(batch, np.stack([obs, obs]))


def test_fields_reject_wrong_obs_width_and_missing_probes() -> None:
    adapter = adapter_for(get_card("hopper"))
    with pytest.raises(ValueError, match=r"expected obs of shape \(n_envs, 11\)"):
        adapter.fields(np.zeros((2, 12)), [{}, {}])
    with pytest.raises(ValueError, match="FieldProbe"):
        adapter.fields(np.zeros((2, 11)), [{}, {}])


def test_probing_does_not_change_the_simulation() -> None:
    card = get_card("ant")
    plain = gymnasium.make(card.env_id)
    probed = make_env(card)
    obs_plain, _ = plain.reset(seed=5)
    obs_probed, _ = probed.reset(seed=5)
    rng = np.random.default_rng(0)
    for _ in range(40):
        action = rng.uniform(-1, 1, size=8).astype(np.float32)
        obs_plain, *_ = plain.step(action)
        obs_probed, *_ = probed.step(action)
    np.testing.assert_array_equal(obs_plain, obs_probed)
