# expect: warning:term-scale
import numpy as np


def compute_reward(state, action, next_state):
    forward = next_state.x_velocity
    upright = 5000.0 * np.cos(next_state.torso_angle)
    effort = -0.1 * np.sum(np.square(action), axis=1)
    return forward + upright + effort, {"forward": forward, "upright": upright, "effort": effort}
