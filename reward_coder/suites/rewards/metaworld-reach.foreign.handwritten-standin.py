# A hand-written stand-in (not any model's output) for a reward written for another tool: Text2Reward's
# form `compute_dense_reward(self, action, obs) -> float` on Meta-World's raw observation, with
# `self.env` the Meta-World env. reward-coder converts it (reward_coder/foreign.py) and benches it.
import numpy as np


def compute_dense_reward(self, action, obs) -> float:
    # distance between the point between the fingertips and the goal
    tcp_to_goal = np.linalg.norm(self.env.tcp_center - self.env._get_pos_goal())
    # the hand's own position is obs[:3]; keep it away from the table
    too_low = max(0.0, 0.08 - obs[2])
    # bonus once the fingertips are at the goal
    bonus = 1.0 if tcp_to_goal < 0.05 else 0.0
    # small regularization of the action
    action_penalty = 0.01 * np.linalg.norm(action)
    return -tcp_to_goal - too_low + bonus - action_penalty
