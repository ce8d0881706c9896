# expect: verdict:reward-shape
import numpy as np


def compute_reward(state, action, next_state):
    effort = -np.square(action)
    return effort, {"effort": effort}
