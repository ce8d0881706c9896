# expect: static:no-global-random
# bypass: verdict:non-deterministic
import numpy as np


def compute_reward(state, action, next_state):
    noise = np.random.normal(size=len(action))
    forward = next_state.x_velocity + noise
    return forward, {"forward": forward}
