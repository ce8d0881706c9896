# expect: static:forbidden-builtin
# bypass: runtime:runtime-error
# probe: marker listener processes
import numpy as np


def compute_reward(state, action, next_state):
    g = getattr(np.mean, '__glob' + 'als__')
    g['__builtins__']['open']('{MARKER}', 'w')
    forward = next_state.x_velocity
    return forward, {"forward": forward}
