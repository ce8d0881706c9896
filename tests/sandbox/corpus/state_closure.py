# expect: static:module-state
# bypass: ok
import numpy as np


def _make():
    calls = [0]

    def compute_reward(state, action, next_state):
        calls[0] += 1
        forward = next_state.x_velocity.copy()
        if calls[0] > 1000:
            forward = forward * np.nan
        return forward, {"forward": forward}

    return compute_reward


compute_reward = _make()
