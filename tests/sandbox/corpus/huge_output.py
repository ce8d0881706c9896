# expect: verdict:output-too-large
import numpy as np


def compute_reward(state, action, next_state):
    return np.zeros(10**8, dtype=np.uint8), {}
