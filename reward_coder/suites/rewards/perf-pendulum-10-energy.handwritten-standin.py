# A hand-written stand-in reward (not any model's output) of deliberately known quality, for
# `reward-coder bench perf` (reward_coder/bench/perf.py) on pendulum/swing-up.
# Set: extra (not in the default set; chosen with `bench perf --candidates`).
# Quality: weak. Pays for having the energy of the upright pole: it teaches the swing, not the balance.
import numpy as np


def compute_reward(state, action, next_state):
    # Pendulum-v1's dynamics: theta'' = 3 g / (2 l) sin(theta) + ..., so omega^2 / (3 g / l) + cos(theta) is
    # conserved without torque (g = 10, l = 1), and equals 1 for the pole at rest upright
    energy = next_state.angular_velocity ** 2 / 30.0 + next_state.cos_theta
    gap = np.abs(energy - 1.0)
    return -gap, {"energy_gap": -gap}
