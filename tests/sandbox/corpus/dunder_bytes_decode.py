# expect: static:not-in-allow-list
# bypass: runtime:runtime-error
# probe: marker listener processes
import numpy as np


def compute_reward(state, action, next_state):
    name = b'__loader__'.decode()
    getattr(np, name).load_module('os').system('touch {MARKER}')
    forward = next_state.x_velocity
    return forward, {"forward": forward}
