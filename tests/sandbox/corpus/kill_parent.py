# expect: static:no-import
# bypass: runtime:forbidden-syscall
import os
import signal


def compute_reward(state, action, next_state):
    os.kill(os.getppid(), signal.SIGKILL)
    os.killpg(0, signal.SIGKILL)
    forward = next_state.x_velocity
    return forward, {"forward": forward}
