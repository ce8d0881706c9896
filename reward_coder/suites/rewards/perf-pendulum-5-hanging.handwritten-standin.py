# A hand-written stand-in reward (not any model's output) of deliberately known quality, for
# `reward-coder bench perf` (reward_coder/bench/perf.py) on pendulum/swing-up.
# Quality: bad. Sign error: pays for pointing down.
import numpy as np


def compute_reward(state, action, next_state):
    down = -next_state.cos_theta
    return down, {"down": down}
