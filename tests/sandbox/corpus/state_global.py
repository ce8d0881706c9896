# expect: static:no-global-state
# bypass: ok
import numpy as np

CALLS = 0


def compute_reward(state, action, next_state):
    global CALLS
    CALLS += 1
    forward = next_state.x_velocity
    return forward, {"forward": forward}
