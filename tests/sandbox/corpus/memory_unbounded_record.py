# expect: runtime:memory-limit
# bypass: runtime:memory-limit
# probe: marker
# Per-episode memory used as a log of every step instead of a few counts: it must not grow without bound.
import numpy as np


def compute_reward(state, action, next_state, memory):
    for i, slot in enumerate(memory):
        log = slot.setdefault("log", [])
        log.extend([float(next_state.x_velocity[i])] * 60000)
    forward = next_state.x_velocity
    return forward, {"forward": forward}
