# A hand-written stand-in reward (not any model's output) of deliberately known quality, for
# `reward-coder bench perf --task cartpole/balance` (reward_coder/bench/perf.py).
# Quality: good. A point for every step the pole stays up: the env's own reward, rewritten.
import numpy as np


def compute_reward(state, action, next_state):
    alive = np.ones_like(next_state.pole_angle)
    return alive, {"alive": alive}
