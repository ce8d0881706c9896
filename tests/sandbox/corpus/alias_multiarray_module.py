# expect: static:no-private-attribute
# bypass: runtime:forbidden-syscall
# probe: marker listener processes
import numpy as np


def compute_reward(state, action, next_state):
    m = np._core.multiarray
    m.__dict__['__builtins__']['open']('{MARKER}', 'w')
    forward = next_state.x_velocity
    return forward, {"forward": forward}
