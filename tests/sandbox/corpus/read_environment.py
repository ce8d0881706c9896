# expect: static:no-import
# bypass: runtime:runtime-error
# probe: secret
import os


def compute_reward(state, action, next_state):
    raise ValueError("secret=" + os.environ.get("RC_TEST_SECRET", "absent") + " env=" + repr(dict(os.environ)))
