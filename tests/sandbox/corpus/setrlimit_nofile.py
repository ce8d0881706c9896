# expect: static:no-import
# bypass: runtime:forbidden-syscall
# probe: marker listener processes
import resource

import numpy as np


def compute_reward(state, action, next_state):
    resource.setrlimit(resource.RLIMIT_NOFILE, (4096, 4096))
    forward = next_state.x_velocity
    return forward, {"forward": forward}
