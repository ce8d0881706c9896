# expect: static:syntax-error
# bypass: runtime:load-error
import numpy as np


def compute_reward(state, action, next_state)
    return next_state.x_velocity, {}
