# example: fetch-reach/reach primary
import numpy as np


def compute_reward(state, action, next_state):
    distance = np.linalg.norm(next_state.gripper_pos - next_state.goal_pos, axis=1)
    before = np.linalg.norm(state.gripper_pos - state.goal_pos, axis=1)

    # dense: closer is better, and each step that closes the gap pays in proportion
    closeness = -distance
    approach = np.clip(10.0 * (before - distance), -1.0, 1.0)
    inside = (distance < 0.05).astype(np.float64)

    reward = closeness + approach + inside
    return reward, {"closeness": closeness, "approach": approach, "inside": inside}
