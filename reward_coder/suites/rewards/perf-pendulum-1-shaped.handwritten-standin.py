# A hand-written stand-in reward (not any model's output) of deliberately known quality, for
# `reward-coder bench perf` (reward_coder/bench/perf.py) on pendulum/swing-up.
# Quality: good. Upright height, damping near the top, a small effort cost (the demo's selected reward).
import numpy as np


def compute_reward(state, action, next_state):
    height = next_state.cos_theta
    near_top = np.clip(next_state.cos_theta, 0.0, 1.0)
    damping = 0.1 * near_top * next_state.angular_velocity ** 2
    effort = 0.001 * np.sum(action ** 2, axis=1)
    return height - damping - effort, {"height": height, "damping": -damping, "effort": -effort}
