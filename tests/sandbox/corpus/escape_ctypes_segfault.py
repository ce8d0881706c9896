# expect: static:no-import
# bypass: runtime:worker-crashed
import ctypes


def compute_reward(state, action, next_state):
    ctypes.string_at(0)
    forward = next_state.x_velocity
    return forward, {"forward": forward}
