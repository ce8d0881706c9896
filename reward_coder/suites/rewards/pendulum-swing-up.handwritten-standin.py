# Hand-written stand-in: the reward the offline demo selects (iteration 1, candidate 0 of
# reward_coder/standins/pendulum-swing-up.handwritten-standin.jsonl), not any real model's output.
import numpy as np

def compute_reward(state, action, next_state):
    # dense uprightness: +1 at the top, -1 hanging
    height = next_state.cos_theta
    # damp the swing only near the top, so pumping from below is not punished
    near_top = np.clip(next_state.cos_theta, 0.0, 1.0)
    damping = 0.1 * near_top * next_state.angular_velocity ** 2
    effort = 0.001 * np.sum(action ** 2, axis=1)
    reward = height - damping - effort
    return reward, {"height": height, "damping": -damping, "effort": -effort}
