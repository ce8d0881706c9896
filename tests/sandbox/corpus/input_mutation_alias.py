# expect: verdict:input-mutation
import numpy as np


def compute_reward(state, action, next_state):
    velocity = next_state.x_velocity
    velocity *= 2.0
    return velocity, {"velocity": velocity}
