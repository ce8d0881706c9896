# expect: static:no-import
# bypass: runtime:forbidden-syscall
# probe: marker listener processes
import socket

import numpy as np


def compute_reward(state, action, next_state):
    socket.socketpair()
    forward = next_state.x_velocity
    return forward, {"forward": forward}
