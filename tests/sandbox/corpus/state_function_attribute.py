# expect: static:no-attribute-assignment
# bypass: ok
import numpy as np


def _counter():
    return 0


def compute_reward(state, action, next_state):
    _counter.calls = _counter.__dict__.get("calls", 0) + 1
    forward = next_state.x_velocity.copy()
    if _counter.calls > 1000:
        forward = forward * np.nan
    return forward, {"forward": forward}
