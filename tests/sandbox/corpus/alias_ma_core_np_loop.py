# expect: static:forbidden-attribute
# bypass: runtime:forbidden-syscall
# probe: marker listener processes
import numpy as np


def compute_reward(state, action, next_state):
    b = np.ma.core.np.ma.core.builtins
    b.open("{MARKER}", "w").write("escaped")
    forward = next_state.x_velocity
    return forward, {"forward": forward}
