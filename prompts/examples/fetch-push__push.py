# example: fetch-push/push
import numpy as np


def compute_reward(state, action, next_state):
    # stage 1: the gripper goes to the cube
    to_cube = np.linalg.norm(next_state.gripper_pos - next_state.object_pos, axis=1)
    reach = np.exp(-(to_cube / 0.05) ** 2)

    # stage 2: the cube goes to the goal (on the table, so x and y are what matter)
    to_goal = np.linalg.norm(next_state.object_pos[:, :2] - next_state.goal_pos[:, :2], axis=1)
    before = np.linalg.norm(state.object_pos[:, :2] - state.goal_pos[:, :2], axis=1)
    push = np.clip(20.0 * (before - to_goal), -1.0, 1.0)
    placed = np.exp(-(to_goal / 0.05) ** 2)

    reward = 0.5 * reach + push + 2.0 * placed
    return reward, {"reach": 0.5 * reach, "push": push, "placed": 2.0 * placed}
