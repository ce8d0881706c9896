# expect: verdict:non-finite
import numpy as np


def compute_reward(state, action, next_state):
    height = np.log(next_state.torso_height - 10.0)
    return height, {"height": height}
