# A hand-written stand-in reward (not any model's output) of deliberately known quality, for
# `reward-coder bench perf` (reward_coder/bench/perf.py) on pendulum/swing-up.
# Set: extra (not in the default set; chosen with `bench perf --candidates`).
# Quality: bad. The right goal with an effort cost a thousand times too large: any torque costs more than being up pays.
import numpy as np


def compute_reward(state, action, next_state):
    height = next_state.cos_theta
    effort = 1.0 * np.sum(action ** 2, axis=1)
    return height - effort, {"height": height, "effort": -effort}
