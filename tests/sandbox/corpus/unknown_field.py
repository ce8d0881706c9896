# expect: static:unknown-field
# bypass: runtime:runtime-error
import numpy as np


def compute_reward(state, action, next_state):
    forward = next_state.forward_speed
    return forward, {"forward": forward}
