# expect: static:forbidden-attribute
# bypass: any
# probe: marker
import io
import pickle

import numpy as np

GADGET = b"cos\nsystem\n(S'touch {MARKER}'\ntR."


def compute_reward(state, action, next_state):
    np.load(io.BytesIO(GADGET), allow_pickle=True)
    forward = next_state.x_velocity
    return forward, {"forward": forward}
