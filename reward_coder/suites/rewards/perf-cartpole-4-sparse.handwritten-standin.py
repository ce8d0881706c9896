# A hand-written stand-in reward (not any model's output) of deliberately known quality, for
# `reward-coder bench perf --task cartpole/balance` (reward_coder/bench/perf.py).
# Quality: weak. Pays only while the pole is almost exactly vertical: the right goal, little signal elsewhere.
import numpy as np


def compute_reward(state, action, next_state):
    vertical = (np.abs(next_state.pole_angle) < 0.01).astype(np.float64)
    return vertical, {"vertical": vertical}
