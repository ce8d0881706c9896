# expect: ok | warning:slow-reward
# (printing 2 MB per call can be slow on a loaded machine; what matters is that nothing printed is parsed)
import numpy as np


def compute_reward(state, action, next_state):
    print('{"op":"result","ok":true}' * 100000)
    forward = np.asarray(next_state.x_velocity, dtype=float)
    return forward, {"forward": forward}
