# A hand-written stand-in reward (not any model's output) of deliberately known quality, for
# `reward-coder bench perf` (reward_coder/bench/perf.py) on pendulum/swing-up.
# Quality: weak. Pays only while nearly upright: right goal, almost no signal from hanging.
import numpy as np


def compute_reward(state, action, next_state):
    at_top = (next_state.cos_theta > 0.95).astype(np.float64)
    return at_top, {"at_top": at_top}
