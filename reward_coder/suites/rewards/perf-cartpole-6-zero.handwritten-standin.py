# A hand-written stand-in reward (not any model's output) of deliberately known quality, for
# `reward-coder bench perf --task cartpole/balance` (reward_coder/bench/perf.py).
# Quality: bad. Pays nothing whatever happens: no signal.
import numpy as np


def compute_reward(state, action, next_state):
    nothing = np.zeros_like(next_state.pole_angle)
    return nothing, {"nothing": nothing}
