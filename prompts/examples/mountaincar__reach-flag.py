# example: mountaincar/reach-flag
import numpy as np

GOAL = 0.45


def compute_reward(state, action, next_state):
    # mechanical energy (potential from height plus kinetic from speed) grows as the car rocks higher
    energy = next_state.height + 100.0 * next_state.velocity ** 2
    energy_gain = np.clip(100.0 * (energy - (state.height + 100.0 * state.velocity ** 2)), -1.0, 1.0)

    # progress toward the flag, bounded to [0, 1]
    progress = np.clip((next_state.position + 1.2) / (GOAL + 1.2), 0.0, 1.0)

    reached = (next_state.position >= next_state.goal_position).astype(np.float64)
    effort = 0.01 * np.sum(action ** 2, axis=1)

    reward = 0.5 * energy_gain + 0.1 * progress + 10.0 * reached - effort
    return reward, {"energy_gain": 0.5 * energy_gain, "progress": 0.1 * progress,
                    "reached": 10.0 * reached, "effort": -effort}
