# expect: verdict:non-finite
import numpy as np


def compute_reward(state, action, next_state):
    with np.errstate(divide="ignore"):
        speed = 1.0 / (next_state.x_velocity * 0.0)
    return speed, {"speed": speed}
