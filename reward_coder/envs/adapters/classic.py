"""Classic-control envs (Pendulum, MountainCarContinuous): every field comes from the obs vector."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from reward_coder.envs.adapters.base import (
    OBS,
    Adapter,
    EnvLayout,
    FieldRecipe,
    UnsupportedEnvError,
    constant,
)

if TYPE_CHECKING:
    import gymnasium


def _angle_from_cos_sin(cos_sin: np.ndarray) -> np.ndarray:
    """(n, 2) columns [cos, sin] -> angle in [-pi, pi]."""
    return np.arctan2(cos_sin[:, 1], cos_sin[:, 0])


MOUNTAIN_CAR_GOAL = 0.45
"""MountainCarContinuous-v0's goal_position (fixed in the env's __init__)."""


def _mountain_height(position: np.ndarray) -> np.ndarray:
    """The track height at x, exactly as MountainCarContinuous-v0's _height() defines it."""
    return np.sin(3.0 * position) * 0.45 + 0.55


_LAYOUTS: dict[str, EnvLayout] = {
    # obs = [cos(theta), sin(theta), theta_dot] (float32); theta = 0 is upright.
    "Pendulum-v1": EnvLayout(
        obs_dim=3,
        recipes={
            "theta": FieldRecipe(OBS, slice(0, 2), (), _angle_from_cos_sin),
            "cos_theta": FieldRecipe(OBS, 0, ()),
            "sin_theta": FieldRecipe(OBS, 1, ()),
            "angular_velocity": FieldRecipe(OBS, 2, ()),
        },
    ),
    # obs = [position, velocity] (float32).
    "MountainCarContinuous-v0": EnvLayout(
        obs_dim=2,
        recipes={
            "position": FieldRecipe(OBS, 0, ()),
            "velocity": FieldRecipe(OBS, 1, ()),
            "goal_position": FieldRecipe(OBS, 0, (), constant(MOUNTAIN_CAR_GOAL)),
            "height": FieldRecipe(OBS, 0, (), _mountain_height),
        },
    ),
}


class ClassicControlAdapter(Adapter):
    """Fields of gymnasium's classic-control envs, sliced from the obs; nothing is probed."""

    family = "classic"

    @classmethod
    def layout(cls, env_id: str, make_kwargs: Mapping[str, Any]) -> EnvLayout:
        if env_id not in _LAYOUTS:
            raise UnsupportedEnvError(
                f"adapter 'classic' supports {', '.join(_LAYOUTS)}, not '{env_id}'"
            )
        return _LAYOUTS[env_id]

    def probe(self, env: gymnasium.Env) -> dict[str, Any]:
        return {}
