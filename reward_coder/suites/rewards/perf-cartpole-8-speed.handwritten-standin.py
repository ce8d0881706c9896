# A hand-written stand-in reward (not any model's output) of deliberately known quality, for
# `reward-coder bench perf --task cartpole/balance` (reward_coder/bench/perf.py).
# Quality: bad. Pays for cart speed: racing off the end of the track beats balancing.
import numpy as np


def compute_reward(state, action, next_state):
    speed = np.abs(next_state.cart_velocity)
    return speed, {"speed": speed}
