# example: halfcheetah/run-forward primary
import numpy as np


def compute_reward(state, action, next_state):
    # the task: forward speed (the cheetah never falls; flipping over is the failure to avoid)
    speed = np.clip(next_state.forward_velocity, -5.0, 15.0)

    # keep the torso roughly level: a flipped cheetah can still move but rarely recovers
    level = np.cos(next_state.torso_angle)

    effort = 0.1 * np.sum(action ** 2, axis=1)

    reward = speed + 0.5 * level - effort
    return reward, {"speed": speed, "level": 0.5 * level, "effort": -effort}
