# A hand-written stand-in reward (not any model's output) of deliberately known quality, for
# `reward-coder bench perf` (reward_coder/bench/perf.py) on pendulum/swing-up.
# Quality: bad. Pays for speed: the policy learns to spin, never to balance.
import numpy as np


def compute_reward(state, action, next_state):
    spin = np.abs(next_state.angular_velocity)
    return spin, {"spin": spin}
