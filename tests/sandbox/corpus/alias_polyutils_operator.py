# expect: static:module-as-value
# bypass: runtime:forbidden-syscall
# probe: marker listener processes
import numpy as np


def compute_reward(state, action, next_state):
    b = np.polynomial.polyutils.operator.attrgetter("ma.core.builtins")(np)
    b.open("{MARKER}", "w").write("escaped")
    forward = next_state.x_velocity
    return forward, {"forward": forward}
