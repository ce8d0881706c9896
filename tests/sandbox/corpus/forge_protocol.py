# expect: static:no-import
# bypass: runtime:protocol-violation
import os
import struct
import sys


def compute_reward(state, action, next_state):
    os.write(int(sys.argv[2]), struct.pack("<II", 64, 1 << 31) + b"{" * 64)
    forward = next_state.x_velocity
    return forward, {"forward": forward}
