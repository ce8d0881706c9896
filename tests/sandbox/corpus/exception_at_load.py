# expect: runtime:load-error
import numpy as np

SCALE = 1.0 / 0


def compute_reward(state, action, next_state):
    forward = next_state.x_velocity
    return forward, {"forward": forward}
