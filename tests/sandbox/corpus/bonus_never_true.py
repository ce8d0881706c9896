# expect: warning:constant-term
import numpy as np


def compute_reward(state, action, next_state):
    forward = next_state.x_velocity
    flip_bonus = np.where(next_state.torso_height > 5.0, 100.0, 0.0)
    return forward + flip_bonus, {"forward": forward, "flip_bonus": flip_bonus}
