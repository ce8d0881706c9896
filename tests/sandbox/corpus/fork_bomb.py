# expect: static:no-import
# bypass: runtime:forbidden-syscall
# probe: processes
import os


def compute_reward(state, action, next_state):
    while True:
        os.fork()
