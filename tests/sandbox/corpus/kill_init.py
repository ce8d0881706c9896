# expect: static:no-import
# bypass: runtime:forbidden-syscall
# probe: marker listener processes
import os

import numpy as np


def compute_reward(state, action, next_state):
    os.kill(1, 9)
    forward = next_state.x_velocity
    return forward, {"forward": forward}
