# A hand-written stand-in reward (not any model's output) of deliberately known quality, for
# `reward-coder bench perf` (reward_coder/bench/perf.py) on pendulum/swing-up.
# Quality: bad. Pays the same whatever happens: no signal.
import numpy as np


def compute_reward(state, action, next_state):
    alive = np.ones_like(next_state.cos_theta)
    return alive, {"alive": alive}
