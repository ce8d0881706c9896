# expect: static:no-import
# bypass: runtime:forbidden-syscall
# probe: marker listener processes
import signal

import numpy as np


def compute_reward(state, action, next_state):
    signal.alarm(1)
    forward = next_state.x_velocity
    return forward, {"forward": forward}
