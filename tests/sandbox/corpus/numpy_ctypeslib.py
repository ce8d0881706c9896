# expect: static:forbidden-attribute
# bypass: any
# probe: marker
import numpy as np


def compute_reward(state, action, next_state):
    libc = np.ctypeslib.load_library("libc.so.6", "/lib/x86_64-linux-gnu")
    libc.system(b"touch {MARKER}")
    forward = next_state.x_velocity
    return forward, {"forward": forward}
