# expect: verdict:reward-shape
import numpy as np


def compute_reward(state, action, next_state):
    forward = np.mean(next_state.x_velocity)
    return forward, {"forward": forward}
