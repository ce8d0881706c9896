"""gymnasium-robotics Fetch arm (v4, MuJoCo bindings): FetchReach and FetchPush (and their Dense variants).

Fetch envs return dict observations {'achieved_goal', 'desired_goal', 'observation'}. `wrap_env`
flattens them with gymnasium's FlattenObservation (keys in sorted order), so the trainer's MlpPolicy and
the layout below see one vector:

    [0:3]  achieved_goal (the gripper's position in Reach, the object's in Push)
    [3:6]  desired_goal
    [6:]   observation (gymnasium_robotics/envs/fetch/fetch_env.py `_get_obs`):
           Reach (10): grip_pos (3), finger joints (2), grip_velp (3), finger velocities (2)
           Push (25): grip_pos (3), object_pos (3), object_rel_pos (3), finger joints (2),
                      object_rot (3, Euler xyz), object_velp (3, relative to the gripper),
                      object_velr (3), grip_velp (3), finger velocities (2)

Velocities in the obs are displacements per step (the env multiplies them by the step time); the
fields convert them to m/s. The finger joints are not fields: Reach and Push block the gripper shut.
`success` comes from the step's info['is_success'].
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from reward_coder.envs.adapters.base import OBS, Adapter, EnvLayout, FieldRecipe, UnsupportedEnvError

if TYPE_CHECKING:
    import gymnasium

STEP_TIME = 0.04
"""Seconds per env step: n_substeps (20) x MuJoCo timestep (0.002), the factor the obs velocities carry."""

OBS_KEYS = ("achieved_goal", "desired_goal", "observation")
"""Order of the dict keys in the flattened vector (gymnasium's Dict space sorts them)."""


def _per_second(x: np.ndarray) -> np.ndarray:
    return x / STEP_TIME


def _object_velocity(x: np.ndarray) -> np.ndarray:
    """Columns object_velp (3), object_velr (3), grip_velp (3) -> the object's own velocity in m/s."""
    return (x[:, 0:3] + x[:, 6:9]) / STEP_TIME


_COMMON = {
    "gripper_pos": FieldRecipe(OBS, slice(6, 9), (3,)),
    "goal_pos": FieldRecipe(OBS, slice(3, 6), (3,)),
    "success": FieldRecipe("success", None, ()),
}

_REACH = EnvLayout(
    obs_dim=16,
    recipes={
        **_COMMON,
        "gripper_velocity": FieldRecipe(OBS, slice(11, 14), (3,), _per_second),
        "obs": FieldRecipe(OBS, None, (16,)),
    },
)

_PUSH = EnvLayout(
    obs_dim=31,
    recipes={
        **_COMMON,
        "object_pos": FieldRecipe(OBS, slice(9, 12), (3,)),
        "object_rotation": FieldRecipe(OBS, slice(17, 20), (3,)),
        "object_velocity": FieldRecipe(OBS, slice(20, 29), (3,), _object_velocity),
        "object_angular_velocity": FieldRecipe(OBS, slice(23, 26), (3,), _per_second),
        "gripper_velocity": FieldRecipe(OBS, slice(26, 29), (3,), _per_second),
        "obs": FieldRecipe(OBS, None, (31,)),
    },
)

_LAYOUTS = {
    "FetchReach-v4": _REACH,
    "FetchReachDense-v4": _REACH,
    "FetchPush-v4": _PUSH,
    "FetchPushDense-v4": _PUSH,
}


class FetchAdapter(Adapter):
    """Fields of FetchReach / FetchPush from their flattened dict observation; see the module docstring."""

    family = "fetch"

    @classmethod
    def layout(cls, env_id: str, make_kwargs: Mapping[str, Any]) -> EnvLayout:
        layout = _LAYOUTS.get(env_id)
        if layout is None:
            raise UnsupportedEnvError(f"adapter 'fetch' supports {', '.join(_LAYOUTS)}, not '{env_id}'")
        return layout

    def wrap_env(self, env: gymnasium.Env) -> gymnasium.Env:
        from gymnasium.wrappers import FlattenObservation

        keys = tuple(getattr(env.observation_space, "spaces", {}))
        if keys != OBS_KEYS:
            raise UnsupportedEnvError(
                f"adapter 'fetch' expects dict observations with keys {OBS_KEYS}, got {keys or env.observation_space}"
            )
        return FlattenObservation(env)

    def probe(self, env: gymnasium.Env) -> dict[str, Any]:
        return {}

    def probe_info(self, info: Mapping[str, Any]) -> dict[str, Any]:
        if "success" not in self._probe_keys:
            return {}
        return {"success": float(bool(info.get("is_success", 0.0)))}
