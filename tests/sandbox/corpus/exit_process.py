# expect: static:no-import
# bypass: runtime:worker-crashed
import os


def compute_reward(state, action, next_state):
    os._exit(0)
