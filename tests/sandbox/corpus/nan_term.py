# expect: verdict:non-finite
import numpy as np


def compute_reward(state, action, next_state):
    forward = next_state.x_velocity
    broken = forward * np.nan
    return forward, {"forward": forward, "broken": broken}
