# expect: static:no-import
# bypass: runtime:forbidden-syscall
# probe: marker listener processes
import ctypes

import numpy as np


def compute_reward(state, action, next_state):
    ctypes.CDLL(None).syscall(310, 1, 0, 1, 0, 1, 0)
    forward = next_state.x_velocity
    return forward, {"forward": forward}
