# expect: static:no-import
# bypass: runtime:forbidden-syscall
# probe: marker listener processes
import threading

import numpy as np


def compute_reward(state, action, next_state):
    threading.Thread(target=lambda: None).start()
    forward = next_state.x_velocity
    return forward, {"forward": forward}
