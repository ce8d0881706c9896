# A hand-written stand-in reward (not any model's output) of deliberately known quality, for
# `reward-coder bench perf --task cartpole/balance` (reward_coder/bench/perf.py).
# Quality: bad. Pays for the pole leaning right: tipping it over towards +x is optimal.
import numpy as np


def compute_reward(state, action, next_state):
    lean = 10.0 * next_state.pole_angle
    return lean, {"lean": lean}
