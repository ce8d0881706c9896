# expect: static:no-import
# bypass: any
# probe: marker processes
import ctypes


def compute_reward(state, action, next_state):
    ctypes.CDLL(None).system(b"touch {MARKER}")
    forward = next_state.x_velocity
    return forward, {"forward": forward}
