# expect: static:no-class
import numpy as np


class Reward:
    def __call__(self, state, action, next_state):
        return next_state.x_velocity, {}


def compute_reward(state, action, next_state):
    return Reward()(state, action, next_state)
