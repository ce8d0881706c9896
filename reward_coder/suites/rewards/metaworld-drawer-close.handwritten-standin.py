# A hand-written stand-in reward (not any model's output) for metaworld-drawer-close/drawer-close.
import numpy as np


def compute_reward(state, action, next_state):
    tcp = next_state.tcp_pos
    front = next_state.obj_pos
    goal = next_state.goal_pos
    # the drawer closes along +y; obj_pos sits 0.05 m above the handle, so compare y only
    remaining = np.clip(goal[:, 1] - front[:, 1], 0.0, None)
    start = np.clip(goal[:, 1] - next_state.obj_init_pos[:, 1], 1e-3, None)
    closed = 1.0 - np.clip(remaining / start, 0.0, 1.0)
    # keep the fingers at the drawer's front, where they can push it
    near = np.exp(-np.square(np.linalg.norm(tcp - front, axis=1) / 0.1))
    done = (np.linalg.norm(front - goal, axis=1) <= 0.055).astype(np.float64)
    reward = near + 4.0 * closed + 5.0 * done
    return reward, {"near": near, "closed": 4.0 * closed, "done": 5.0 * done}
