# expect: static:no-import
# bypass: runtime:runtime-error
# probe: marker listener processes
import os

import numpy as np


def compute_reward(state, action, next_state):
    raise ValueError(os.environ.get('RC_TEST_SECRET', 'none'))
    forward = next_state.x_velocity
    return forward, {"forward": forward}
