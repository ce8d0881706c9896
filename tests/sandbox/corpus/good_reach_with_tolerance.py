# expect: ok
import numpy as np

SUCCESS_RADIUS = 0.5


def compute_reward(state, action, next_state):
    distance = np.linalg.norm(next_state.ee_pos - next_state.goal_pos, axis=1)
    progress = np.linalg.norm(state.ee_pos - state.goal_pos, axis=1) - distance
    success = (distance < SUCCESS_RADIUS * 4).astype(np.float64)
    grip = np.clip(next_state.gripper_opening, 0.0, 1.0)
    return -distance + 10.0 * progress + success + 0.1 * grip, {
        "distance": -distance, "progress": 10.0 * progress, "success": success, "grip": 0.1 * grip,
    }
