# expect: static:no-dunder-string
# bypass: ok
# probe: marker listener processes
import numpy as np


def compute_reward(state, action, next_state):
    '{0.__class__.__mro__}'.format(np.float64(1.0))
    forward = next_state.x_velocity
    return forward, {"forward": forward}
