# A hand-written stand-in reward (not any model's output) for metaworld-reach/reach, shipped so the
# packaged bench suites have a "reward under test" to compare with the expert and sparse baselines.
import numpy as np


def compute_reward(state, action, next_state):
    distance = np.linalg.norm(next_state.tcp_pos - next_state.goal_pos, axis=1)
    start = np.linalg.norm(next_state.init_tcp_pos - next_state.goal_pos, axis=1)
    # 0 where the episode started, 1 at the goal
    progress = 1.0 - np.clip(distance / np.maximum(start, 1e-6), 0.0, 1.0)
    near = np.exp(-np.square(distance / 0.05))
    at_goal = (distance < 0.05).astype(np.float64)
    effort = 0.01 * np.sum(np.square(action[:, :3]), axis=1)
    reward = progress + near + 2.0 * at_goal - effort
    return reward, {"progress": progress, "near": near, "at_goal": 2.0 * at_goal, "effort": -effort}
