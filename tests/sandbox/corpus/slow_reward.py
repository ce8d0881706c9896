# expect: warning:slow-reward
import math

import numpy as np


def compute_reward(state, action, next_state):
    n = len(action)
    values = np.zeros(n)
    for i in range(n):
        acc = 0.0
        for k in range(1000):
            acc += math.sin(k * 0.001 + float(next_state.x_velocity[i]))
        values[i] = acc / 1000.0
    return values, {"slow": values}
