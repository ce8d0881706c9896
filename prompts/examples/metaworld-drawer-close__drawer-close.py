# example: metaworld-drawer-close/drawer-close
import numpy as np


def compute_reward(state, action, next_state):
    # stage 1: bring the fingertips to the drawer's front
    reach = np.linalg.norm(next_state.tcp_pos - next_state.obj_pos, axis=1)
    reach_score = np.exp(-(reach / 0.05) ** 2)

    # stage 2: push the drawer toward its closed position (distance of the handle to the goal)
    remaining = np.linalg.norm(next_state.obj_pos - next_state.goal_pos, axis=1)
    start = np.linalg.norm(next_state.obj_init_pos - next_state.goal_pos, axis=1)
    closed = 1.0 - np.clip(remaining / np.maximum(start, 1e-3), 0.0, 1.0)

    reward = reach_score + 4.0 * closed * (0.5 + 0.5 * reach_score)
    return reward, {"reach": reach_score, "closed": 4.0 * closed * (0.5 + 0.5 * reach_score)}
