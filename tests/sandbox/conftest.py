"""Shared fixtures of the sandbox tests: HalfCheetah-like field batches and small limits."""

from __future__ import annotations

import numpy as np
import pytest

from reward_coder.sandbox import SandboxLimits

FIELD_SHAPES: dict[str, tuple[int, ...]] = {
    "x_position": (),
    "x_velocity": (),
    "torso_height": (),
    "torso_angle": (),
    "joint_pos": (6,),
    "joint_vel": (6,),
    "ee_pos": (3,),
    "goal_pos": (3,),
    "gripper_opening": (),
}
FIELD_NAMES = tuple(FIELD_SHAPES)
ACTION_DIM = 6

TEST_LIMITS = SandboxLimits(call_timeout_s=1.5, start_timeout_s=30.0, cpu_s=60.0)
"""Short call timeouts keep the hang cases fast; start-up stays generous for busy CI machines."""


def make_fields(n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    fields = {name: rng.normal(size=(n, *shape)) for name, shape in FIELD_SHAPES.items()}
    fields["torso_height"] = 0.6 + 0.1 * rng.random(n)
    fields["gripper_opening"] = rng.random(n)
    return fields


def make_batch(n: int = 128, seed: int = 0) -> tuple[dict[str, np.ndarray], np.ndarray, dict[str, np.ndarray]]:
    """(state, action, next_state) with continuous values, like states from random rollouts."""
    rng = np.random.default_rng(seed)
    state = make_fields(n, rng)
    next_state = {k: v + 0.01 * rng.normal(size=v.shape) for k, v in state.items()}
    action = rng.uniform(-1, 1, size=(n, ACTION_DIM))
    return state, action, next_state


@pytest.fixture
def batch():
    return make_batch()


@pytest.fixture
def limits() -> SandboxLimits:
    return TEST_LIMITS
