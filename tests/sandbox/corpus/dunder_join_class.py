# expect: static:forbidden-builtin
# bypass: ok
# probe: marker listener processes
import numpy as np


def compute_reward(state, action, next_state):
    name = ''.join(['__', 'class', '__'])
    getattr(np.float64(1.0), name)
    forward = next_state.x_velocity
    return forward, {"forward": forward}
