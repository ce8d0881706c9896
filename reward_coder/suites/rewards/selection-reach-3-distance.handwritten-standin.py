# A hand-written stand-in reward (not any model's output) of deliberately known quality, for the selection
# study suite (reward_coder/suites/selection-study.yaml): which one does the selection pick?
# Quality: decent. The negative distance to the goal points the right way everywhere.
import numpy as np


def compute_reward(state, action, next_state):
    distance = np.linalg.norm(next_state.tcp_pos - next_state.goal_pos, axis=1)
    return -distance, {"distance": -distance}
