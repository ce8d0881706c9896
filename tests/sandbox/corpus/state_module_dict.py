# expect: static:module-state
# bypass: verdict:non-deterministic
import numpy as np

CACHE = {}


def compute_reward(state, action, next_state):
    CACHE["calls"] = CACHE.get("calls", 0) + 1
    forward = next_state.x_velocity + CACHE["calls"]
    return forward, {"forward": forward}
