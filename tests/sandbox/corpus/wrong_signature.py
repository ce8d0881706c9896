# expect: static:bad-signature
# bypass: runtime:load-error
import numpy as np


def compute_reward(state, action):
    return state.x_velocity, {}
