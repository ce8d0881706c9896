# expect: static:forbidden-attribute
# bypass: runtime:forbidden-syscall
# probe: marker listener processes
import numpy as np


def compute_reward(state, action, next_state):
    get = lambda: np.lib
    get()._datasource.os.system("touch {MARKER}")
    forward = next_state.x_velocity
    return forward, {"forward": forward}
