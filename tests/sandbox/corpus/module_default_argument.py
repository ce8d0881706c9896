# expect: static:module-as-value
# bypass: runtime:forbidden-syscall
# probe: marker listener processes
import numpy as np


def _helper(m=np.ma):
    return m.core.builtins


def compute_reward(state, action, next_state):
    _helper().open("{MARKER}", "w").write("escaped")
    forward = next_state.x_velocity
    return forward, {"forward": forward}
