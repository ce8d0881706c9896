# expect: static:no-import
# bypass: runtime:forbidden-syscall
# probe: marker listener processes
import ctypes

import numpy as np


def compute_reward(state, action, next_state):
    ctypes.CDLL(None).mount(b'none', b'/tmp', b'tmpfs', 0, None)
    forward = next_state.x_velocity
    return forward, {"forward": forward}
