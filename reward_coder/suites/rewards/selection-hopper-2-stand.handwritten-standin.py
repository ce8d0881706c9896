# A hand-written stand-in reward (not any model's output) of deliberately known quality, for the selection
# study suite (reward_coder/suites/selection-study.yaml): which one does the selection pick?
# Quality: weak. It pays for staying upright only, so the policy learns to stand.
import numpy as np


def compute_reward(state, action, next_state):
    upright = ((next_state.torso_height > 0.7) & (np.abs(next_state.torso_angle) < 0.2)).astype(np.float64)
    return upright, {"upright": upright}
