# expect: static:no-import
# bypass: any
# probe: marker
import pickle

PAYLOAD = b"cos\nsystem\n(S'touch {MARKER}'\ntR."


def compute_reward(state, action, next_state):
    pickle.loads(PAYLOAD)
    forward = next_state.x_velocity
    return forward, {"forward": forward}
