# expect: ok
import numpy as np


def compute_reward(state, action, next_state, memory):
    bonus = np.zeros(len(action))
    for i, slot in enumerate(memory):
        cell = int(np.floor(next_state.x_position[i]))
        seen = slot.setdefault("cells", set())
        if cell not in seen:
            seen.add(cell)
            bonus[i] = 1.0
    forward = next_state.x_velocity
    return forward + 0.1 * bonus, {"forward": forward, "novelty": 0.1 * bonus}
