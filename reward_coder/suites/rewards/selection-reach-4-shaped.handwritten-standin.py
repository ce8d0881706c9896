# A hand-written stand-in reward (not any model's output) of deliberately known quality, for the selection
# study suite (reward_coder/suites/selection-study.yaml): which one does the selection pick?
# Quality: clearly best. Normalized progress, a tight bonus near the goal and a success bonus.
import numpy as np


def compute_reward(state, action, next_state):
    distance = np.linalg.norm(next_state.tcp_pos - next_state.goal_pos, axis=1)
    start = np.linalg.norm(next_state.init_tcp_pos - next_state.goal_pos, axis=1)
    progress = 1.0 - np.clip(distance / np.maximum(start, 1e-6), 0.0, 1.0)
    near = np.exp(-np.square(distance / 0.05))
    at_goal = 2.0 * (distance < 0.05).astype(np.float64)
    return progress + near + at_goal, {"progress": progress, "near": near, "at_goal": at_goal}
