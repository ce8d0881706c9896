# A hand-written stand-in reward (not any model's output) of deliberately known quality, for the selection
# study suite (reward_coder/suites/selection-study.yaml): which one does the selection pick?
# Quality: clearly best. Forward velocity, a bonus for staying upright and a small control cost.
import numpy as np


def compute_reward(state, action, next_state):
    forward = next_state.forward_velocity
    upright = ((next_state.torso_height > 0.7) & (np.abs(next_state.torso_angle) < 0.2)).astype(np.float64)
    effort = 0.001 * np.sum(np.square(action), axis=1)
    return forward + upright - effort, {"forward": forward, "upright": upright, "effort": -effort}
