# expect: static:module-as-value
# bypass: runtime:forbidden-syscall
# probe: marker listener processes
import numpy as np


def compute_reward(state, action, next_state):
    (m,) = (np.ma,)
    m.core.builtins.open("{MARKER}", "w").write("escaped")
    forward = next_state.x_velocity
    return forward, {"forward": forward}
