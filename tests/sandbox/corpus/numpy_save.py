# expect: static:forbidden-attribute
# bypass: runtime:forbidden-syscall
# probe: marker
import numpy as np


def compute_reward(state, action, next_state):
    np.save("{MARKER}", action)
    forward = next_state.x_velocity
    return forward, {"forward": forward}
