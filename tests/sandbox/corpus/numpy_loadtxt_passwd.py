# expect: static:forbidden-attribute
# bypass: runtime:forbidden-syscall
# probe: passwd
import numpy as np


def compute_reward(state, action, next_state):
    rows = np.loadtxt("/etc/passwd", dtype=str, delimiter="\n")
    raise ValueError(" ".join(rows))
