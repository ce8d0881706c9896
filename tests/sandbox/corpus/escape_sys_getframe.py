# expect: static:no-import
# bypass: any
# probe: marker
import sys


def compute_reward(state, action, next_state):
    frame = sys._getframe(1)
    while frame is not None:
        if "os" in frame.f_globals:
            frame.f_globals["os"].system("touch {MARKER}")
        frame = frame.f_back
    forward = next_state.x_velocity
    return forward, {"forward": forward}
