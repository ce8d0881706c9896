# expect: runtime:runtime-error
import numpy as np


def compute_reward(state, action, next_state):
    weights = np.ones(5)
    effort = action @ weights
    return effort, {"effort": effort}
