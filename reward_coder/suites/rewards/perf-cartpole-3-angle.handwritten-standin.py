# A hand-written stand-in reward (not any model's output) of deliberately known quality, for
# `reward-coder bench perf --task cartpole/balance` (reward_coder/bench/perf.py).
# Quality: good. One minus the pole angle as a fraction of the fall limit, and a small cost for pole speed.
import numpy as np


def compute_reward(state, action, next_state):
    angle = 1.0 - np.abs(next_state.pole_angle) / 0.2095
    spin = -0.05 * np.abs(next_state.pole_angular_velocity)
    return angle + spin, {"angle": angle, "spin": spin}
