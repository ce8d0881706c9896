# example: metaworld-reach/reach primary
import numpy as np


def compute_reward(state, action, next_state):
    # distance from the fingertips to the goal point, and how much of the starting gap is closed
    distance = np.linalg.norm(next_state.tcp_pos - next_state.goal_pos, axis=1)
    start = np.linalg.norm(next_state.init_tcp_pos - next_state.goal_pos, axis=1)
    closed = 1.0 - np.clip(distance / np.maximum(start, 1e-3), 0.0, 1.0)

    # a sharp bonus inside the success radius (0.05 m), smooth so the last centimetres still pay
    near = np.exp(-(distance / 0.02) ** 2)

    reward = closed + 2.0 * near
    return reward, {"closed_gap": closed, "near_goal": 2.0 * near}
