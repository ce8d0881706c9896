# A hand-written stand-in reward (not any model's output) of deliberately known quality, for the selection
# study suite (reward_coder/suites/selection-study.yaml): which one does the selection pick?
# Quality: weak. Only reaching the goal pays, so there is no gradient until a lucky episode gets there.
import numpy as np


def compute_reward(state, action, next_state):
    distance = np.linalg.norm(next_state.tcp_pos - next_state.goal_pos, axis=1)
    at_goal = (distance < 0.05).astype(np.float64)
    return at_goal, {"at_goal": at_goal}
