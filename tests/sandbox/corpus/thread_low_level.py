# expect: static:no-import
# bypass: runtime:forbidden-syscall
# probe: marker listener processes
import _thread

import numpy as np


def compute_reward(state, action, next_state):
    _thread.start_new_thread(lambda: None, ())
    forward = next_state.x_velocity
    return forward, {"forward": forward}
