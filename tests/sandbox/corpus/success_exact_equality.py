# expect: warning:float-equality
import numpy as np


def compute_reward(state, action, next_state):
    distance = np.linalg.norm(next_state.ee_pos - next_state.goal_pos, axis=1)
    success = np.where(next_state.ee_pos[:, 0] == next_state.goal_pos[:, 0], 10.0, 0.0)
    return -distance + success, {"distance": -distance, "success_bonus": success}
