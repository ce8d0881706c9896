# expect: static:no-mutable-default
# bypass: ok
import numpy as np


def compute_reward(state, action, next_state, *, _calls=[0]):
    _calls[0] += 1
    forward = next_state.x_velocity.copy()
    if _calls[0] > 1000:
        forward = forward * np.nan
    return forward, {"forward": forward}
