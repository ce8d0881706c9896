# expect: static:forbidden-attribute
# bypass: runtime:forbidden-syscall
# probe: marker
import numpy as np


def compute_reward(state, action, next_state):
    mapped = np.memmap("{MARKER}", dtype=np.float64, mode="w+", shape=(4,))
    mapped[:] = 1.0
    mapped.flush()
    forward = next_state.x_velocity
    return forward, {"forward": forward}
