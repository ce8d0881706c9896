# expect: ok
"""Run forward while staying upright and using little effort."""
import math

import numpy as np

TARGET_HEIGHT = 0.65
EFFORT_WEIGHT = 0.1


def _upright(angle):
    return np.cos(angle)


def compute_reward(state, action, next_state):
    forward = next_state.x_velocity
    upright = 0.5 * _upright(next_state.torso_angle)
    height = -np.abs(next_state.torso_height - TARGET_HEIGHT)
    effort = -EFFORT_WEIGHT * np.sum(np.square(action), axis=1)
    joint_speed = -0.01 * np.linalg.norm(next_state.joint_vel, axis=1) / math.sqrt(6)
    reward = forward + upright + height + effort + joint_speed
    return reward, {"forward": forward, "upright": upright, "height": height, "effort": effort,
                    "joint_speed": joint_speed}
