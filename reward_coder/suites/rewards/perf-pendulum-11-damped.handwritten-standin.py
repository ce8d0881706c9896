# A hand-written stand-in reward (not any model's output) of deliberately known quality, for
# `reward-coder bench perf` (reward_coder/bench/perf.py) on pendulum/swing-up.
# Set: extra (not in the default set; chosen with `bench perf --candidates`).
# Quality: weak. Uprightness with a speed cost everywhere, far too large: the swing that reaching the top needs costs more than the top pays.
import numpy as np


def compute_reward(state, action, next_state):
    height = next_state.cos_theta
    speed = 0.5 * next_state.angular_velocity ** 2
    return height - speed, {"height": height, "speed": -speed}
