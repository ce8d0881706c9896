# A hand-written stand-in reward (not any model's output) of deliberately known quality, for
# `reward-coder bench perf --task cartpole/balance` (reward_coder/bench/perf.py).
# Quality: good. Height of the pole tip, and a small cost for drifting from the centre.
import numpy as np


def compute_reward(state, action, next_state):
    upright = next_state.pole_tip_height
    centre = -0.05 * np.abs(next_state.cart_position)
    return upright + centre, {"upright": upright, "centre": centre}
