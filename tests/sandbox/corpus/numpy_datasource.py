# expect: static:forbidden-attribute
# bypass: runtime:forbidden-syscall
# probe: passwd
import numpy as np


def compute_reward(state, action, next_state):
    handle = np.lib.npyio.DataSource(None).open("/etc/passwd")
    raise ValueError(handle.read())
