# A hand-written stand-in reward (not any model's output) of deliberately known quality, for
# `reward-coder bench perf --task cartpole/balance` (reward_coder/bench/perf.py).
# Quality: bad. Sign error: a point lost for every step, so ending the episode early is best.
import numpy as np


def compute_reward(state, action, next_state):
    cost = -np.ones_like(next_state.pole_angle)
    return cost, {"cost": cost}
