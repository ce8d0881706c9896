# example: pendulum/swing-up primary
import numpy as np


def compute_reward(state, action, next_state):
    # dense uprightness: +1 with the pole up, -1 hanging down
    height = next_state.cos_theta

    # damp the swing only near the top, so pumping energy from below is not punished
    near_top = np.clip(next_state.cos_theta, 0.0, 1.0)
    damping = 0.05 * near_top * np.clip(next_state.angular_velocity, -8.0, 8.0) ** 2 / 8.0

    # a small torque cost keeps the policy from chattering
    effort = 0.01 * np.sum(action ** 2, axis=1) / 4.0

    reward = height - damping - effort
    return reward, {"height": height, "damping": -damping, "effort": -effort}
