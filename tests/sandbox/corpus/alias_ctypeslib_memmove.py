# expect: static:forbidden-attribute
# bypass: runtime:worker-crashed
# probe: marker listener processes
import numpy as np


def compute_reward(state, action, next_state):
    np.ctypeslib.ctypes.memmove(0, 1, 1)
    forward = next_state.x_velocity
    return forward, {"forward": forward}
