# expect: static:no-import
# bypass: runtime:runtime-error|runtime:timeout
# probe: processes
import os


def compute_reward(state, action, next_state):
    while True:
        os.fork()
