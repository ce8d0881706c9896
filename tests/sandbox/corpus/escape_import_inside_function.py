# expect: static:no-import
# bypass: any
# probe: marker
import numpy as np


def compute_reward(state, action, next_state):
    from os import system
    system("touch {MARKER}")
    forward = next_state.x_velocity
    return forward, {"forward": forward}
