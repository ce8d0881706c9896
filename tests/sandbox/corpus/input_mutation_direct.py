# expect: static:input-mutation
# bypass: verdict:input-mutation
import numpy as np


def compute_reward(state, action, next_state):
    next_state.joint_vel[:] = 0.0
    forward = next_state.x_velocity
    return forward, {"forward": forward}
