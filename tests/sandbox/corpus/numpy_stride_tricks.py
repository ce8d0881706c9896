# expect: static:forbidden-attribute
# bypass: runtime:worker-crashed
import numpy as np


def compute_reward(state, action, next_state):
    tiny = np.zeros(1)
    wild = np.lib.stride_tricks.as_strided(tiny, shape=(100000,), strides=(1 << 22,))
    return wild[:64] * 0 + wild.sum(), {"wild": wild[:64]}
