# expect: static:forbidden-attribute
# bypass: runtime:runtime-error|any
# probe: marker processes
import numpy as np


def compute_reward(state, action, next_state):
    np.f2py.run_main(["-c", "-m", "x", "{MARKER}"])
    np.testing.assert_equal(1, 1)
    forward = next_state.x_velocity
    return forward, {"forward": forward}
