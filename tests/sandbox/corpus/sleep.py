# expect: static:no-import
# bypass: runtime:forbidden-syscall
import time


def compute_reward(state, action, next_state):
    time.sleep(100)
    forward = next_state.x_velocity
    return forward, {"forward": forward}
