# A hand-written stand-in reward (not any model's output) of deliberately known quality, for
# `reward-coder bench perf` (reward_coder/bench/perf.py) on pendulum/swing-up.
# Quality: good. Uprightness with a small effort cost.
import numpy as np


def compute_reward(state, action, next_state):
    effort = 0.001 * np.sum(np.square(action), axis=1)
    return next_state.cos_theta - effort, {"upright": next_state.cos_theta, "effort": -effort}
