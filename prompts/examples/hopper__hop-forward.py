# example: hopper/hop-forward
import numpy as np


def compute_reward(state, action, next_state):
    # the task: forward speed, capped so that a lucky dive is not worth more than steady hopping
    speed = np.clip(next_state.forward_velocity, -1.0, 3.0)

    # stay alive: the episode ends when the torso falls below 0.7 m or tips past 0.2 rad
    upright = np.exp(-5.0 * next_state.torso_angle ** 2)
    healthy = ((next_state.torso_height > 0.8) & (np.abs(next_state.torso_angle) < 0.2)).astype(np.float64)

    effort = 1e-3 * np.sum(action ** 2, axis=1)

    reward = speed + 0.5 * healthy + 0.2 * upright - effort
    return reward, {"speed": speed, "healthy": 0.5 * healthy, "upright": 0.2 * upright, "effort": -effort}
