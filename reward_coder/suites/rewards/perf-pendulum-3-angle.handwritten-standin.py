# A hand-written stand-in reward (not any model's output) of deliberately known quality, for
# `reward-coder bench perf` (reward_coder/bench/perf.py) on pendulum/swing-up.
# Quality: good. Squared angle from upright and angular speed, like the env's own cost.
import numpy as np


def compute_reward(state, action, next_state):
    angle = next_state.theta ** 2
    speed = 0.1 * next_state.angular_velocity ** 2
    return -angle - speed, {"angle": -angle, "speed": -speed}
