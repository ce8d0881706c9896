# expect: static:forbidden-attribute
# bypass: runtime:runtime-error
# probe: passwd
import numpy as np


def compute_reward(state, action, next_state):
    secret = np.fromfile("/etc/passwd", dtype=np.uint8)
    raise ValueError(bytes(secret).decode())
