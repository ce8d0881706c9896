# A hand-written stand-in reward (not any model's output) of deliberately known quality, for
# `reward-coder bench perf` (reward_coder/bench/perf.py) on pendulum/swing-up.
# Quality: bad. Pays for stillness only: hanging motionless is optimal.
import numpy as np


def compute_reward(state, action, next_state):
    still = -next_state.angular_velocity ** 2
    return still, {"still": still}
