# expect: static:no-import
# bypass: runtime:runtime-error
# probe: marker listener processes
import os

import numpy as np


def compute_reward(state, action, next_state):
    raise ValueError(open('/proc/meminfo').read())
    forward = next_state.x_velocity
    return forward, {"forward": forward}
