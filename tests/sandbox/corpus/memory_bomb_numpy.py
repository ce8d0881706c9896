# expect: runtime:memory-limit
import numpy as np


def compute_reward(state, action, next_state):
    big = np.ones(10**11)
    return big[: len(action)], {}
