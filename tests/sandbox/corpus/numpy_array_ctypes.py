# expect: static:forbidden-attribute
# bypass: runtime:worker-crashed
import numpy as np


def compute_reward(state, action, next_state):
    ctypes = np.ctypeslib.ctypes
    pointer = ctypes.cast(16, ctypes.POINTER(ctypes.c_double))
    wild = np.ctypeslib.as_array(pointer, shape=(8,))
    total = np.zeros(len(action)) + action.ctypes.data + float(wild.sum())
    return total, {"total": total}
