# expect: static:no-introspection
# bypass: any
# probe: marker
import numpy as np


def compute_reward(state, action, next_state):
    frame = (x for x in [0]).gi_frame
    while frame is not None:
        env = frame.f_globals.get("os")
        if env is not None:
            env.system("touch {MARKER}")
        frame = frame.f_back
    forward = next_state.x_velocity
    return forward, {"forward": forward}
